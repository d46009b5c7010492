import { MissingTokenError, type AccessToken } from '@bearerkit/core'
import type { FastifyRequest } from 'fastify'

/**
 * The request's verified access token, for handlers that cannot run without one: never `null`,
 * so no `?.` and no `!` in the handler. Where there is no token (a public route, or a scope the
 * plugin was not registered in) it throws a 401 `MissingTokenError` with `WWW-Authenticate:
 * Bearer`; inside the plugin's scope the answer is the plugin's own challenge, with
 * `resource_metadata`.
 *
 * A function rather than a request method: a decorator exists only in the scope the plugin was
 * registered in and its children, while a function works on every request.
 *
 * @throws MissingTokenError (`ERR_MISSING_TOKEN`, 401) when the request carries no verified token.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 RFC 6750 §3.1
 * @example
 * ```ts
 * app.get('/files', async (request) => {
 *   const { clientId, subject } = requireAccessToken(request)
 *   return listFiles(subject ?? clientId)
 * })
 * ```
 */
export function requireAccessToken(request: FastifyRequest): AccessToken {
  const accessToken = request.accessToken
  if (accessToken !== null && accessToken !== undefined) return accessToken
  // RFC 6750 §3.1: no credentials, so no error code in the challenge.
  throw new MissingTokenError('Authentication is required', {
    headers: { 'www-authenticate': 'Bearer' },
  })
}
