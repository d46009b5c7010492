import type { BearerGateOptions } from '@bearerkit/http'
import type { Context } from 'hono'

export type { MetadataRouteOptions, ProtectedResourceOptions } from '@bearerkit/http'

/**
 * Options of {@link bearerAuth}: those of `@bearerkit/http`'s `createBearerGate`, and the limit of a
 * form body the middleware reads.
 *
 * @example
 * ```ts
 * app.use(bearerAuth({
 *   verifier,
 *   resource: { url: 'https://api.example.com/mcp', authorizationServers: ['https://login.example.com/'] },
 *   requiredScopes: ['mcp:tools'],
 * }))
 * ```
 */
export interface BearerAuthOptions extends BearerGateOptions {
  /**
   * Largest `application/x-www-form-urlencoded` body, in bytes, the middleware reads (RFC 6750
   * §2.2: a token there must be refused, so the body has to be looked at). Larger bodies are
   * answered 413. Default 100 KiB. A chunked body is read before its size is known: put Hono's
   * `bodyLimit` in front for a hard bound.
   */
  formBodyLimit?: number
  /**
   * The TLS client certificate (DER) and peer address of a request's connection, for
   * certificate-bound tokens (gate option `mtls`, RFC 8705 §3); called only when `mtls` is on.
   * Default: read from the Node socket that `@hono/node-server` puts in `c.env.incoming` (serve
   * it with `https.createServer` and `requestCert: true`). On another runtime, return what it
   * knows, or `undefined`; without a certificate a bound token is refused. It must answer at
   * once: if it throws or returns a promise, the request is answered 503 and never accepted.
   */
  connection?: ((c: Context) => ConnectionInfo | undefined) | undefined
}

/** What {@link BearerAuthOptions.connection} tells about a request's connection. */
export interface ConnectionInfo {
  /** DER of the TLS client certificate. */
  readonly clientCertificate?: Uint8Array | undefined
  /**
   * The address the connection comes from (the socket peer, never `X-Forwarded-For`): only a
   * peer in `mtls.trustedProxies` may vouch for a certificate with the `Client-Cert` header.
   */
  readonly remoteAddress?: string | undefined
}
