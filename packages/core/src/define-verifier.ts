import { performance } from 'node:perf_hooks'
import {
  Refusal,
  type AccessToken,
  type TokenVerifier,
  type VerifyOptions,
} from './access-token.js'
import { verifyChannel, type VerificationEvent } from './diagnostics.js'
import { isVerifierUnavailable } from './errors.js'

/**
 * The body of a verifier: returns the {@link AccessToken} for a valid token, a {@link Refusal}
 * saying why a token is not valid, or throws `VerifierUnavailableError` when it cannot decide.
 */
export type VerifyFunction = (
  token: string,
  options: VerifyOptions,
) => Promise<AccessToken | Refusal>

const NO_OPTIONS: VerifyOptions = Object.freeze({})

/**
 * Turns a {@link VerifyFunction} into a {@link TokenVerifier} that honours the whole contract:
 * refusals become `null` after `onRefusal` is called, every decision is published on
 * {@link VERIFY_CHANNEL} (never with the token), an aborted signal rejects before any work, and a
 * token that is not a non-empty string is refused as `malformed` without reaching `check`.
 *
 * Every bearerkit verifier is built with it; use it for your own verifiers too.
 *
 * @param kind Short name published as `verifier` in events (`jwt`, `introspection` ...).
 * @example
 * ```ts
 * const verifier = defineVerifier('allow-list', async (token) =>
 *   allowed.get(token) ?? new Refusal('inactive', 'The access token is not known'))
 * ```
 */
export function defineVerifier(kind: string, check: VerifyFunction): TokenVerifier {
  return {
    async verifyToken(token: string, options: VerifyOptions = NO_OPTIONS) {
      options.signal?.throwIfAborted()
      const observed = verifyChannel.hasSubscribers
      const start = observed ? performance.now() : 0
      let result: AccessToken | Refusal
      if (typeof token !== 'string' || token.length === 0) {
        result = new Refusal('malformed', 'The access token is malformed')
      } else {
        try {
          result = await check(token, options)
        } catch (error) {
          if (observed && isVerifierUnavailable(error)) {
            publish({
              verifier: kind,
              outcome: 'unavailable',
              errorCode: error.code,
              duration: performance.now() - start,
            })
          }
          throw error
        }
      }
      if (isRefusal(result)) {
        if (observed) {
          publish({
            verifier: kind,
            outcome: 'refused',
            reason: result.code,
            description: result.description,
            duration: performance.now() - start,
          })
        }
        options.onRefusal?.(result)
        return null
      }
      if (observed) {
        publish({
          verifier: kind,
          outcome: 'accepted',
          clientId: result.clientId,
          ...(result.issuer === undefined ? {} : { issuer: result.issuer }),
          duration: performance.now() - start,
        })
      }
      return result
    },
  }
}

// Judged by shape as well as class, so a Refusal from another copy of this package still counts.
function isRefusal(value: AccessToken | Refusal): value is Refusal {
  return value instanceof Refusal || !('claims' in value)
}

function publish(event: VerificationEvent): void {
  verifyChannel.publish(event)
}
