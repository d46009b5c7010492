/**
 * Redirect URI rules shared by registration (what may be registered) and the authorization
 * endpoint (which registered URI a request names).
 */

// RFC 8252 §7.3: loopback IP literals. `localhost` is not among them: RFC 8252 §8.3 says NOT
// RECOMMENDED, since the name may resolve elsewhere (a hosts file, a resolver that answers it).
const LOOPBACK_IP = new Set(['127.0.0.1', '[::1]'])

/** Longest redirect URI accepted, in characters. */
export const MAX_REDIRECT_URI_LENGTH = 2000

/**
 * Whether `value` may be registered as a redirect URI: https, http on a loopback IP literal
 * (RFC 8252 §7.3), or a private-use scheme that is a reverse domain name (RFC 8252 §7.1: it
 * contains a dot); never a fragment (RFC 6749 §3.1.2), userinfo, or a backslash (which the WHATWG
 * parser reads as `/` for http(s), so the URI would not mean what it shows).
 */
export function isAcceptableRedirectUri(value: unknown): boolean {
  if (typeof value !== 'string' || value.length > MAX_REDIRECT_URI_LENGTH) return false
  if (value.includes('#') || value.includes('\\')) return false
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  if (url.username !== '' || url.password !== '') return false
  if (url.protocol === 'https:') return true
  if (url.protocol === 'http:') return LOOPBACK_IP.has(url.hostname)
  return url.protocol.slice(0, -1).includes('.')
}

/**
 * The registered redirect URI that `given` names, or `undefined`. URIs are compared as whole
 * strings (RFC 6749 §3.1.2.3, no prefix or pattern matching), with one exception: for http on a
 * loopback IP literal the port is ignored, since a native app picks a free port at the time of
 * the request (RFC 8252 §7.3: the server MUST allow any port). Even then `given` must be exactly
 * the registered URI with another port, in the URL parser's canonical form.
 */
export function matchRedirectUri(
  registered: readonly unknown[],
  given: string,
): string | undefined {
  if (registered.includes(given)) return given
  let url: URL
  try {
    url = new URL(given)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' || !LOOPBACK_IP.has(url.hostname)) return undefined
  for (const candidate of registered) {
    if (typeof candidate !== 'string') continue
    let expected: URL
    try {
      expected = new URL(candidate)
    } catch {
      continue
    }
    if (expected.protocol !== 'http:' || expected.hostname !== url.hostname) continue
    expected.port = url.port
    if (expected.href === given) return given
  }
  return undefined
}
