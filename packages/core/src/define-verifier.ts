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
  const failed = (error: unknown, observed: boolean, start: number): void => {
    if (observed && isVerifierUnavailable(error)) {
      publish({
        verifier: kind,
        outcome: 'unavailable',
        errorCode: error.code,
        duration: performance.now() - start,
      })
    }
  }

  // Throws (after publishing) where verifyToken rejects; answers at once when `check` does.
  const verifyNow = (
    token: string,
    options: VerifyOptions = NO_OPTIONS,
  ): AccessToken | null | Promise<AccessToken | null> => {
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
      failed(error, observed, start)
      throw error
    }
    if (isPromiseLike(answer)) {
      return Promise.resolve(answer).then(
        (result) => settle(result, options, observed, start),
        (error: unknown) => {
          failed(error, observed, start)
          // Whatever the check threw is passed on as it is, as an async function would.
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
          return Promise.reject(error)
        },
      )
    }
    // Answered synchronously: settled now (an onRefusal that throws throws here).
    return settle(answer, options, observed, start)
  }

  const verifyToken = (token: string, options?: VerifyOptions): Promise<AccessToken | null> => {
    try {
      const answer = verifyNow(token, options)
      // Answered synchronously: the caller's await is the only tick it costs.
      return answer instanceof Promise ? answer : Promise.resolve(answer)
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      return Promise.reject(error)
    }
  }
  answersNow.set(verifyToken, verifyNow)
  return { verifyToken }
}

type VerifyNow = (
  token: string,
  options?: VerifyOptions,
) => AccessToken | null | PromiseLike<AccessToken | null>

// The synchronous form of each verifyToken function built here, keyed by that very function: a
// verifier object whose verifyToken was replaced (a user's wrapper, a spread with another
// verifyToken) has no entry, so no check of a wrapper is ever skipped.
const answersNow = new WeakMap<TokenVerifier['verifyToken'], VerifyNow>()

/**
 * Registers `verifyNow` as the synchronous form of `verifyToken`, which must be a function only
 * this caller holds (a wrapper's own `verifyToken`): {@link verifyTokenNow} then calls it.
 *
 * @internal For the wrappers of this package (cache, factory).
 */
export function answerNowWith(
  verifyToken: TokenVerifier['verifyToken'],
  verifyNow: VerifyNow,
): void {
  answersNow.set(verifyToken, verifyNow)
}

/**
 * `verifier.verifyToken(token, options)`, except that a verifier of this package that can answer
 * at once (a verified-token cache hit, a static-key JWT) answers with the AccessToken or `null`
 * itself rather than a promise of it, and throws where `verifyToken` would reject. Any other
 * verifier's answer is returned as it is (a promise, as the contract says). For request paths
 * that pay for every microtask: the HTTP gate and the adapters.
 *
 * @example
 * ```ts
 * const answer = verifyTokenNow(verifier, token, { signal })
 * const accessToken = isPromiseLike(answer) ? await answer : answer
 * ```
 */
export function verifyTokenNow(
  verifier: TokenVerifier,
  token: string,
  options?: VerifyOptions,
): AccessToken | null | PromiseLike<AccessToken | null> {
  // Read once: the function looked up is the function called.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const verifyToken = verifier.verifyToken
  const now = answersNow.get(verifyToken)
  return now === undefined ? verifyToken.call(verifier, token, options) : now(token, options)
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
