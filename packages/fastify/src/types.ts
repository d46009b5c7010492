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
     * The verified access token on a route the plugin authenticated; `null` on a public route of
     * the plugin's scope; absent (`undefined`) in a scope the plugin was not registered in, since
     * a request decorator does not reach sibling scopes. A handler that needs the token gets it
     * without null checks from `requireAccessToken(request)`, which answers 401 where there is
     * none. Its JSON and `util.inspect` forms show a fingerprint instead of the token; never log
     * `accessToken.token` itself.
     */
    accessToken?: AccessToken | null
    /**
     * `[clientId, issuer, subject]` of the verified token (see `principalComponents`); `null`
     * without a verified token in the plugin's scope, absent outside it. Bind sessions to it.
     */
    principal?: PrincipalComponents | null
  }
  interface FastifyContextConfig {
    /** Bearer authentication of this route: see {@link BearerRouteConfig}. */
    bearer?: BearerRouteConfig
  }
}
