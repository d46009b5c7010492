// RFC 3986 §3.2.2 host (a reg-name of unreserved characters, or an IP literal) and §3.2.3 port:
// nothing that ends the authority (`/`, `?`, `#`, `\`, `@`) and so moves the start of the path.
const AUTHORITY = /^(?:[A-Za-z0-9._~-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/
const SCHEME = /^https?$/i
// A dot segment (`/..`, `/%2e`) or a backslash, which URL parsing reads as `/`, in the path.
const UNNORMALIZED = /\\|\/(?:\.|%2e){1,2}(?:\/|$)/i

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
 * A path with a dot segment or a backslash (`/files/../admin`) gives `*` and the query: the gate
 * compares `htu` after RFC 3986 normalisation, which reads that path as `/admin`, while Express
 * and Fastify route it under `/files`; no proof is accepted for it (clients send normalised
 * paths, and `@hono/node-server` normalises it before routing).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3 RFC 9449 §4.3
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-3.2 RFC 9112 §3.2 (request target forms)
 * @example
 * ```ts
 * const url = absoluteRequestUrl(request.protocol, request.host, request.url)
 * ```
 */
export function absoluteRequestUrl(protocol: unknown, host: unknown, target: string): string {
  const query = target.indexOf('?')
  if (UNNORMALIZED.test(query === -1 ? target : target.slice(0, query))) {
    return query === -1 ? '*' : `*${target.slice(query)}`
  }
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
