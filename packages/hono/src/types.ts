import type { AccessToken, PrincipalComponents } from '@bearerkit/core'

/**
 * The context variables `bearerAuth` sets on the requests it accepts: `c.get('accessToken')` and
 * `c.get('principal')`. Never log `accessToken.token`.
 */
export interface BearerVariables {
  /** The verified access token. */
  accessToken: AccessToken
  /** `[clientId, issuer, subject]` of the token (core's `principalComponents`): bind sessions to it. */
  principal: PrincipalComponents
}

/**
 * The Hono environment of an app (or sub-app) guarded by `bearerAuth`.
 *
 * @example
 * ```ts
 * const app = new Hono<BearerEnv>()
 * app.use(bearerAuth({ verifier, resource }))
 * app.get('/whoami', (c) => c.json({ client: c.get('accessToken').clientId }))
 * ```
 */
export interface BearerEnv {
  Variables: BearerVariables
}
