import type { BearerGateOptions } from '@bearerkit/http'

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
}
