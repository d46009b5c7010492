import type { AccessToken, PrincipalComponents } from '@bearerkit/core'

/**
 * What a route says about bearer authentication, in its `config.bearer`:
 *
 * - `false`: the route is public; the plugin does not look at the request.
 * - `true` or absent: the route needs a valid token with the plugin's `requiredScopes`.
 * - `{ scopes: [...] }`: the route needs those scopes on top of `requiredScopes`.
 *
 * @example
 * ```ts
 * app.get('/health', { config: { bearer: false } }, () => 'ok')
 * app.post('/files', { config: { bearer: { scopes: ['files:write'] } } }, handler)
 * ```
 */
export type BearerRouteConfig = boolean | { readonly scopes?: readonly string[] }

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The verified access token; `null` on a public route. Requests of scopes the plugin was not
     * registered in are not decorated at all. Never log `accessToken.token`.
     */
    accessToken: AccessToken | null
    /**
     * `[clientId, issuer, subject]` of the verified token (see `principalComponents`), or `null`
     * when there is no verified token. Bind sessions to it.
     */
    principal: PrincipalComponents | null
  }
  interface FastifyContextConfig {
    /** Bearer authentication of this route: see {@link BearerRouteConfig}. */
    bearer?: BearerRouteConfig
  }
}
