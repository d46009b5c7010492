// RFC 3986 §3.2.2 host (a reg-name of unreserved characters, or an IP literal) and §3.2.3 port:
// nothing that ends the authority (`/`, `?`, `#`, `\`, `@`) and so moves the start of the path.
const AUTHORITY = /^(?:[A-Za-z0-9._~-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/
const SCHEME = /^https?$/i

/**
 * The absolute URL a Node adapter gives the gate for the DPoP `htu` check (RFC 9449 §4.3): the
 * scheme and host its framework derived (`Host`, or `X-Forwarded-*` from a trusted proxy) and the
 * request target as received. The gate must see the path the framework routed, so the path and
 * query alone go on (and the gate refuses the proof unless `dpop.publicOrigin` names the origin)
 * when:
 * - the host is not `host[:port]`: `Host: api.example.com/other#` would make a request for `/mcp`
 *   read as one for `/other`, and a proof made for one path pass on another;
 * - the scheme is not `http` or `https`;
 * - the target is in absolute form (`GET http://other.example/mcp`): the client names the origin
 *   twice, there and in `Host`, and either may be chosen.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3 RFC 9449 §4.3
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-3.2 RFC 9112 §3.2 (request target forms)
 * @example
 * ```ts
 * const url = absoluteRequestUrl(request.protocol, request.host, request.url)
 * ```
 */
export function absoluteRequestUrl(protocol: unknown, host: unknown, target: string): string {
  if (target.charCodeAt(0) !== 0x2f) return pathOfAbsoluteForm(target)
  return typeof protocol === 'string' &&
    SCHEME.test(protocol) &&
    typeof host === 'string' &&
    AUTHORITY.test(host)
    ? `${protocol}://${host}${target}`
    : target
}

/** Path and query of an absolute-form target; any other target (`*`) as it is. */
function pathOfAbsoluteForm(target: string): string {
  let url: URL
  try {
    url = new URL(target)
  } catch {
    return target
  }
  return url.protocol === 'http:' || url.protocol === 'https:'
    ? `${url.pathname}${url.search}`
    : target
}
