import {
  createProtectedResourceMetadata,
  toWebResponse,
  type ProtectedResourceMetadataOptions,
} from '@bearerkit/http'
import type { MiddlewareHandler } from 'hono'

/**
 * Hono middleware that serves only the RFC 9728 protected resource metadata (with CORS) and passes
 * every other request on: for apps that guard single routes, or that describe a resource
 * protected elsewhere. Mount it at the root: the document lives at
 * `/.well-known/oauth-protected-resource` + the resource's path.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the option at fault.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3 RFC 9728 §3
 * @example
 * ```ts
 * app.use(protectedResourceMetadata({ resource: { url: 'https://api.example.com/mcp', authorizationServers: [issuer] } }))
 * ```
 */
export function protectedResourceMetadata(
  options: ProtectedResourceMetadataOptions,
): MiddlewareHandler {
  const metadata = createProtectedResourceMetadata(options)
  return async (c, next) => {
    const raw = c.req.raw
    const answer = metadata.respond({ method: raw.method, url: raw.url, headers: raw.headers })
    if (answer !== null) return toWebResponse(answer)
    await next()
  }
}
