/**
 * Adds query parameters to a redirect URI, keeping the ones it already has (RFC 6749 §3.1.2: the
 * endpoint URI MAY include a query component, which MUST be retained). Parameters whose value is
 * `undefined` are left out.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2 RFC 6749 §4.1.2
 * @example
 * ```ts
 * constructRedirectUri('https://app.example/cb?x=1', { code, state })
 * // 'https://app.example/cb?x=1&code=...&state=...'
 * ```
 */
export function constructRedirectUri(
  redirectUri: string,
  params: Readonly<Record<string, string | undefined>>,
): string {
  const url = new URL(redirectUri)
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.append(name, value)
  }
  return url.href
}
