import { abortReason } from '../abort.js'
import { timerDelay } from '../deadline.js'
import { VerifierUnavailableError, invalidArgument, isVerifierUnavailable } from '../errors.js'
import { publishStoreEvent, type StoreKind } from './store-events.js'

/** Options every store call accepts. */
export interface StoreCallOptions {
  /**
   * Aborted when the caller stops waiting (its own deadline, or the request went away). A store
   * should stop work it can stop; the caller never waits past it either way.
   */
  readonly signal?: AbortSignal
}

/**
 * Default deadline of one store call, in milliseconds. A shared store sits on the request path:
 * a Redis round trip on a local network takes well under a millisecond, so 100 ms means the store
 * is in trouble (failing over, paused, overloaded) and waiting longer only queues requests.
 */
export const DEFAULT_STORE_TIMEOUT = 100

/** Reads a store deadline option: a finite number of milliseconds > 0. */
export function readStoreTimeout(option: string, value: unknown): number {
  if (value === undefined) return DEFAULT_STORE_TIMEOUT
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidArgument(option, 'must be a finite number of milliseconds > 0')
  }
  return value
}

const STORE_NAMES: Readonly<Record<StoreKind, string>> = {
  replay: 'replay store',
  session: 'session store',
  cache: 'shared cache',
  revocation: 'revocation list',
}

/**
 * The error for a store that could not answer: `VerifierUnavailableError` (503, `Retry-After: 1`)
 * with reason `store_timeout`, `store_error` or `store_invalid_answer`. A store's own error is
 * kept as `cause`, never in the message (a key or a value could be in it).
 */
export function storeUnavailable(
  kind: StoreKind,
  reason: 'store_timeout' | 'store_error' | 'store_invalid_answer' | 'store_stale',
  cause?: unknown,
): VerifierUnavailableError {
  const problem =
    reason === 'store_timeout'
      ? 'did not answer in time'
      : reason === 'store_invalid_answer'
        ? 'gave an answer of the wrong type'
        : reason === 'store_stale'
          ? 'is too stale to be trusted'
          : 'failed'
  return new VerifierUnavailableError(`The ${STORE_NAMES[kind]} ${problem}`, {
    reason,
    retryAfter: 1,
    ...(cause === undefined ? {} : { cause }),
  })
}

/**
 * The error for a store answer of the wrong type (published on {@link STORE_CHANNEL} as a
 * failure): an answer that is not what the interface promises is never read as a yes.
 */
export function invalidStoreAnswer(kind: StoreKind): VerifierUnavailableError {
  publishStoreEvent({ store: kind, event: 'failure', reason: 'store_invalid_answer' })
  return storeUnavailable(kind, 'store_invalid_answer')
}

/**
 * Runs one store call with a deadline: the call gets a signal that aborts at the deadline or when
 * the caller's signal does, and the returned promise settles by then whatever the store does (a
 * store that never answers, or ignores its signal, cannot hold a request).
 *
 * - the store answered: its value (check its type: a wrong type is a failure, not a yes); an
 *   answer given synchronously (an in-memory store's) arms no timer, since only a promise can be
 *   waited on past its deadline;
 * - the store threw, rejected or missed the deadline: `VerifierUnavailableError` (reasons
 *   `store_error`, `store_timeout`), published on {@link STORE_CHANNEL} as a degradation;
 * - the caller's signal aborted: the signal's reason, as `raceAbort` does.
 *
 * @example
 * ```ts
 * const first = await callStore('replay', (signal) => store.markUsed(key, exp, { signal }), {
 *   timeout: 100,
 *   signal: request.signal,
 * })
 * ```
 */
export function callStore<T>(
  kind: StoreKind,
  work: (signal: AbortSignal) => T | PromiseLike<T>,
  options: { readonly timeout: number; readonly signal?: AbortSignal | undefined },
): Promise<T> {
  const outer = options.signal
  if (outer?.aborted === true) return Promise.reject(abortReason(outer))
  const controller = new AbortController()
  const failure = (error: unknown): VerifierUnavailableError =>
    isVerifierUnavailable(error) ? error : storeUnavailable(kind, 'store_error', error)
  let answer: T | PromiseLike<T>
  let thenable: boolean
  try {
    answer = work(controller.signal)
    thenable = typeof (answer as { then?: unknown } | null)?.then === 'function'
  } catch (error) {
    const unavailable = failure(error)
    publishStoreEvent({
      store: kind,
      event: 'failure',
      reason: unavailable.reason ?? 'store_error',
    })
    controller.abort(unavailable)
    return Promise.reject(unavailable)
  }
  // A store that answered synchronously (an in-memory one) needs no deadline: no timer is armed.
  // Synchronous code cannot be cut off anyway, so the deadline only ever bounds a promise.
  if (!thenable) return Promise.resolve(answer as T)
  return new Promise<T>((resolve, reject) => {
    let done = false
    const finish = (): boolean => {
      if (done) return false
      done = true
      clearTimeout(timer)
      outer?.removeEventListener('abort', onAbort)
      return true
    }
    const fail = (error: VerifierUnavailableError): void => {
      if (!finish()) return
      publishStoreEvent({ store: kind, event: 'failure', reason: error.reason ?? 'store_error' })
      controller.abort(error)
      reject(error)
    }
    // Removed by finish(), so it only ever runs while the call is pending.
    const onAbort = (): void => {
      finish()
      const reason = abortReason(outer as AbortSignal)
      controller.abort(reason)
      reject(reason)
    }
    const timer = setTimeout(
      () => fail(storeUnavailable(kind, 'store_timeout')),
      timerDelay(options.timeout),
    )
    outer?.addEventListener('abort', onAbort, { once: true })
    Promise.resolve(answer).then(
      (value) => {
        if (finish()) resolve(value)
      },
      (error: unknown) => fail(failure(error)),
    )
  })
}
