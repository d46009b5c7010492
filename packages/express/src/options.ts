import type { BearerGateOptions } from '@bearerkit/http'

export type { MetadataRouteOptions, ProtectedResourceOptions } from '@bearerkit/http'

/**
 * Options of {@link bearerAuth}: those of `@bearerkit/http`'s `createBearerGate`, and the limit of a
 * form body the middleware reads itself.
 *
 * @example
 * ```ts
 * const auth = bearerAuth({
 *   verifier,
 *   resource: { url: 'https://api.example.com/mcp', authorizationServers: ['https://login.example.com/'] },
 *   requiredScopes: ['mcp:tools'],
 * })
 * ```
 */
export interface BearerAuthOptions extends BearerGateOptions {
  /**
   * Largest `application/x-www-form-urlencoded` body, in bytes, the middleware reads when no
   * parser ran before it (RFC 6750 §2.2: a token there must be refused, so the body has to be
   * looked at). Larger bodies are answered 413. Default 100 KiB, body-parser's default.
   */
  formBodyLimit?: number
}
