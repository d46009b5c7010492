import {
  createProtectedResourceMetadata,
  type ProtectedResourceMetadataOptions,
} from '@bearerkit/http'
import type { RequestHandler } from 'express'
import { sendGateResponse } from './lib/send.js'

/**
 * Express middleware that serves only the RFC 9728 protected resource metadata (with CORS) and
 * passes every other request on: for apps that guard single routes, or that describe a resource
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
): RequestHandler {
  const metadata = createProtectedResourceMetadata(options)
  return (req, res, next) => {
    const answer = metadata.respond({
      method: req.method,
      url: req.originalUrl,
      headers: req.headers,
    })
    if (answer === null) next()
    else sendGateResponse(res, answer)
  }
}
