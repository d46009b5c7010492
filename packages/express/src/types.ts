import type { AccessToken, PrincipalComponents } from '@bearerkit/core'

declare global {
  // Express's own typings merge request fields through the global Express namespace.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /**
       * The verified access token, set by `bearerAuth` on the requests it accepted; absent on
       * routes it does not guard. Never log `accessToken.token`.
       */
      accessToken?: AccessToken
      /**
       * `[clientId, issuer, subject]` of the verified token (core's `principalComponents`): bind
       * sessions to it.
       */
      principal?: PrincipalComponents
    }
  }
}
