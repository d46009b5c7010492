// Query parameters that carry tokens: RFC 6750 §2.3 `access_token`, and `token` (the RFC 7009 and
// RFC 7662 parameter that clients also put in URLs by mistake).
const TOKEN_NAMES: ReadonlySet<string> = new Set(['access_token', 'token'])

/**
 * A URL with the values of its `access_token` and `token` query parameters replaced by
 * `[redacted]`, for request logs. A token in the query is refused (RFC 6750 §2.3 is not accepted),
 * but a framework's request log has written the URL before anyone looked at it. Names are
 * compared as a query parser reads them (percent-decoded, `+` as space) and case-insensitively,
 * so `access%5Ftoken` is redacted too. The query is everything after the first `?`, a `#`
 * included, exactly as the gate reads it: a request target carries no fragment (RFC 9112 §3.2), so
 * a raw `#` there is just a character, and stopping at it would leave the token that the gate
 * refused in the log line.
 *
 * @example
 * ```ts
 * redactTokenParams('/mcp?access_token=eyJ...&x=1') // '/mcp?access_token=[redacted]&x=1'
 * ```
 */
export function redactTokenParams(url: string): string {
  const start = url.indexOf('?')
  if (start === -1) return url
  const query = url.slice(start + 1)
  let changed = false
  const parts = query.split('&').map((part) => {
    const equals = part.indexOf('=')
    const name = equals === -1 ? part : part.slice(0, equals)
    if (!TOKEN_NAMES.has(decodeName(name).toLowerCase())) return part
    changed = true
    return `${name}=[redacted]`
  })
  if (!changed) return url
  return url.slice(0, start + 1) + parts.join('&')
}

// Decoded exactly as URLSearchParams decodes a name (lenient about malformed escapes).
function decodeName(name: string): string {
  return new URLSearchParams(`${name}=`).keys().next().value ?? ''
}
