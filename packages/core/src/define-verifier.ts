import { performance } from 'node:perf_hooks'
import {
  Refusal,
  type AccessToken,
  type TokenVerifier,
  type VerifyOptions,
} from './access-token.js'
import { verifyChannel, type VerificationEvent } from './diagnostics.js'
import { isVerifierUnavailable } from './errors.js'
import { safeAccessToken } from './safe-access-token.js'

/**
 * The body of a verifier: returns the {@link AccessToken} for a valid token, a {@link Refusal}
 * saying why a token is not valid, or throws `VerifierUnavailableError` when it cannot decide.
 * It may answer synchronously when it has nothing to wait for (a static key, a cache hit): the
 * verifier then settles without an extra round through the microtask queue.
 */
export type VerifyFunction = (
  token: string,
  options: VerifyOptions,
) => AccessToken | Refusal | PromiseLike<AccessToken | Refusal>

const NO_OPTIONS: VerifyOptions = Object.freeze({})

/**
 * Turns a {@link VerifyFunction} into a {@link TokenVerifier} that honours the whole contract:
 * refusals become `null` after `onRefusal` is called, every decision is published on
 * {@link VERIFY_CHANNEL} (never with the token), an aborted signal rejects before any work, a
 * token that is not a non-empty string is refused as `malformed` without reaching `check`, and an
 * accepted AccessToken has the `toJSON` and `util.inspect` forms that show a fingerprint instead
 * of the token, a plain object from `check` included (see {@link safeAccessToken}).
 * `verifyToken` never throws: every failure is a rejected promise.
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
  // What happens once the check has answered: publish, call onRefusal, and map refusals to null.
  const settle = (
    result: AccessToken | Refusal,
    options: VerifyOptions,
    observed: boolean,
    start: number,
  ): AccessToken | null => {
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
    // A custom check's plain object gets the forms that print a fingerprint, not the token.
    return safeAccessToken(result)
  }
  const fail = (error: unknown, observed: boolean, start: number): Promise<never> => {
    if (observed && isVerifierUnavailable(error)) {
      publish({
        verifier: kind,
        outcome: 'unavailable',
        errorCode: error.code,
        duration: performance.now() - start,
      })
    }
    // Whatever the check threw is passed on as it is, as an async function would.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return Promise.reject(error)
  }

  return {
    verifyToken(token: string, options: VerifyOptions = NO_OPTIONS) {
      let observed = false
      let start = 0
      let answer: AccessToken | Refusal | PromiseLike<AccessToken | Refusal>
      try {
        options.signal?.throwIfAborted()
        observed = verifyChannel.hasSubscribers
        start = observed ? performance.now() : 0
        answer =
          typeof token !== 'string' || token.length === 0
            ? new Refusal('malformed', 'The access token is malformed')
            : check(token, options)
      } catch (error) {
        return fail(error, observed, start)
      }
      if (isPromiseLike(answer)) {
        return Promise.resolve(answer).then(
          (result) => settle(result, options, observed, start),
          (error: unknown) => fail(error, observed, start),
        )
      }
      // Answered synchronously: settle now, so the caller's await is the only tick it costs.
      try {
        return Promise.resolve(settle(answer, options, observed, start))
      } catch (error) {
        // onRefusal threw: the promise rejects with its error, as from an async function.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        return Promise.reject(error)
      }
    },
  }
}

/**
 * Whether `value` is a promise (or any thenable) rather than a value at hand: how a verifier that
 * may answer synchronously tells the two apart.
 *
 * @example
 * ```ts
 * const answer = check(token)
 * return isPromiseLike(answer) ? answer.then(finish) : finish(answer)
 * ```
 */
export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown }).then === 'function'
}

// Judged by shape as well as class, so a Refusal from another copy of this package still counts.
function isRefusal(value: AccessToken | Refusal): value is Refusal {
  return value instanceof Refusal || !('claims' in value)
}

function publish(event: VerificationEvent): void {
  verifyChannel.publish(event)
}
