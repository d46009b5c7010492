import {
  Refusal,
  VerifierUnavailableError,
  defineVerifier,
  invalidArgument,
  isVerifierUnavailable,
  raceAbort,
  type TokenVerifier,
} from '@bearerkit/core'
import { resolveOptions } from './lib/options.js'
import { RecordProblem, accessTokenFromRecord, judge } from './lib/record.js'
import type { AccessTokenLoader } from './protocol.js'

/** Options of {@link createProviderVerifier}. */
export interface ProviderVerifierOptions {
  /**
   * REQUIRED. The resource identifier(s) of this resource server (RFC 8707 / RFC 9728
   * `resource`). A token is accepted only when its `resource` or one of its `audience` entries
   * names one of them; URLs are compared after RFC 3986 normalization (scheme and host case,
   * default port, empty path as `/`), other values exactly. Pass `null` to accept tokens whatever
   * their audience, for a provider that only ever issues tokens for this server.
   */
  audience: string | readonly string[] | null
  /** Scopes every token must carry; a token missing one is refused (`insufficient_scope`). */
  requiredScopes?: readonly string[]
  /** Clock in milliseconds since the epoch, for the expiry check. Default `Date.now`. */
  now?: () => number
}

/**
 * A verifier backed by an authorization-server provider: the token is looked up with
 * `provider.loadAccessToken(token)`, as the MCP Python SDK's `ProviderTokenVerifier` does, and
 * then held to the same contract as every bearerkit verifier:
 *
 * - `null` or `undefined` from the provider: refused (`inactive`);
 * - expired tokens are refused (`expired`, on or after `expiresAt`, by the injected clock) even
 *   when the provider forgot to check;
 * - the `resource`/`audience` check (`wrong_audience`) and `requiredScopes`
 *   (`insufficient_scope`), as configured;
 * - the provider throws or rejects: `VerifierUnavailableError` with reason `provider_error` and
 *   the provider's error as `cause` (a `VerifierUnavailableError` thrown by the provider is passed
 *   on unchanged, with its own reason and `retryAfter`);
 * - the provider answers a malformed record (not an object, `clientId` not a non-empty string,
 *   `scopes` not an array of scope tokens, `expiresAt` not a finite number, a `token` that is not
 *   the one looked up, wrongly typed optional members): `VerifierUnavailableError` with reason
 *   `invalid_response`. A broken provider is an operator's problem, so it is a 503 that shows in
 *   monitoring, not a 401 that sends every client back to re-authorize in a loop.
 *
 * The record becomes a complete, frozen `AccessToken` (built by core's `accessTokenFromClaims`):
 * scopes without duplicates, `claims` holding the record's `claims` with the standard claims
 * (`client_id`, `scope`, `exp`, `sub`, `iss`, `aud`, `resource`) set from its members. Options
 * other than those of {@link ProviderVerifierOptions} are ignored, so a configuration shared with
 * other verifier types (see core's `createVerifier`) can be used as is.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for a provider without `loadAccessToken` or a bad
 * option.
 * @see https://www.rfc-editor.org/rfc/rfc8707 RFC 8707 (resource indicators)
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 RFC 6750 §3.1
 * @example
 * ```ts
 * const verifier = createProviderVerifier(provider, {
 *   audience: 'https://mcp.example.com/mcp',
 *   requiredScopes: ['mcp:tools'],
 * })
 * const accessToken = await verifier.verifyToken(token) // AccessToken | null
 * ```
 */
export function createProviderVerifier(
  provider: AccessTokenLoader,
  options: ProviderVerifierOptions,
): TokenVerifier {
  if (typeof (provider as Partial<AccessTokenLoader> | null)?.loadAccessToken !== 'function') {
    throw invalidArgument('provider', 'must be an object with a loadAccessToken(token) method')
  }
  const resolved = resolveOptions(options)
  return defineVerifier('provider', async (token, { signal, senderConstraint }) => {
    let record: unknown
    try {
      // Called as a method, so a class-based provider keeps its `this`; a synchronous throw is
      // caught here like a rejection.
      record = await raceAbort(Promise.resolve(provider.loadAccessToken(token)), signal)
    } catch (error) {
      if (signal?.aborted) throw error
      if (isVerifierUnavailable(error)) throw error
      throw new VerifierUnavailableError('The token provider failed to load the access token', {
        reason: 'provider_error',
        cause: error,
      })
    }
    if (record === null || record === undefined) {
      return new Refusal('inactive', 'The access token is not known or no longer active')
    }
    const accessToken = accessTokenFromRecord(token, record)
    if (accessToken instanceof RecordProblem) {
      throw new VerifierUnavailableError(
        `The token provider answered a malformed access token record: ${accessToken.message}`,
        { reason: 'invalid_response' },
      )
    }
    return judge(accessToken, resolved, senderConstraint) ?? accessToken
  })
}
