/**
 * A resource or audience value in comparable form: absolute URLs after RFC 3986 §6.2.2-6.2.3
 * normalization as the WHATWG URL parser does it (scheme and host lower-cased, default port
 * dropped, empty path as `/`), anything else unchanged. `https://API.example.com` and
 * `https://api.example.com/` compare equal; `https://api.example.com/mcp` and
 * `https://api.example.com/mcp/` do not.
 */
export function comparableAudience(value: string): string {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return value
  try {
    return new URL(value).href
  } catch {
    return value
  }
}
