import type { BearerGateOptions } from './options.js'

/**
 * Names of the identity headers a forward-auth answer carries to the upstream. `false` leaves a
 * header out. Names are case-insensitive HTTP field names.
 */
export interface IdentityHeaderNames {
  /** The token's `client_id`. Default `x-bearer-client-id`. */
  clientId?: string | false
  /** The token's `sub`; absent when the token has none. Default `x-bearer-subject`. */
  subject?: string | false
  /** The token's `iss`; absent when the token has none. Default `x-bearer-issuer`. */
  issuer?: string | false
  /** The token's scopes, space-separated (RFC 6749 §3.3). Default `x-bearer-scopes`. */
  scopes?: string | false
}

/**
 * Options of {@link createForwardAuthHandler} and {@link createForwardAuthServer}: the gate's, and
 * how the proxy in front is trusted and told who the caller is.
 *
 * @example
 * ```ts
 * const server = createForwardAuthServer({
 *   verifier,
 *   resource: { url: 'https://api.example.com/mcp', authorizationServers: ['https://login.example.com/'] },
 *   trustedProxies: ['127.0.0.1', '10.0.0.0/8'],
 * })
 * server.listen(9000, '127.0.0.1')
 * ```
 */
export interface ForwardAuthOptions extends BearerGateOptions {
  /**
   * Socket addresses (IPv4 or IPv6, or CIDR ranges such as `10.0.0.0/8`) whose `X-Original-*`
   * (nginx) and `X-Forwarded-Method/Proto/Host/Uri` (Traefik) headers describe the original
   * request. From any other address those headers are ignored and the request is decided as it
   * arrived. Default: loopback only (`127.0.0.0/8`, `::1`).
   */
  trustedProxies?: readonly string[]
  /** Names of the identity headers of a 200 answer; see {@link IdentityHeaderNames}. */
  identityHeaders?: IdentityHeaderNames
  /**
   * Path prefix the proxy puts before the original path when it sends the request itself (Envoy
   * `ext_authz` HTTP service `path_prefix`); removed before the path is looked at. Default none.
   */
  pathPrefix?: string
  /**
   * Largest `application/x-www-form-urlencoded` body, in bytes, read when the proxy forwards the
   * body (Traefik `forwardBody`, Envoy `with_request_body`): a token there is refused (RFC 6750
   * §2.2). Larger bodies are answered 413. Default 100 KiB.
   */
  formBodyLimit?: number
}
