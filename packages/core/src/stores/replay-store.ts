import { VerifierUnavailableError, invalidArgument } from '../errors.js'
import { readInteger } from '../options.js'
import {
  callStore,
  invalidStoreAnswer,
  readStoreTimeout,
  type StoreCallOptions,
} from './store-call.js'

/**
 * Remembers which one-time identifiers were used (an ID-JAG `jti`, a DPoP proof `jti`, a client
 * assertion `jti`), so that each is accepted once. The in-memory default suits one process; a
 * fleet plugs in a shared implementation (`@bearerkit/redis`: `SET key 1 NX PXAT expiry`).
 *
 * Failure semantics: the answer is a security decision. A store that throws, rejects, misses its
 * deadline or answers anything but a boolean makes the caller refuse with
 * `VerifierUnavailableError` (503), never accept; see {@link guardReplayStore}.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7519#section-4.1.7 RFC 7519 §4.1.7 (`jti`)
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3 RFC 7523 §3 (replay of JWT grants)
 */
export interface ReplayStore {
  /**
   * Records `key` as used until `expiresAt` (seconds since the epoch) and tells whether this was
   * its first use. Must be atomic: of two concurrent calls for one key, on any instance, exactly
   * one sees `true`. Throw (a `VerifierUnavailableError`, ideally) when the answer cannot be
   * given: the identifier is then refused, never accepted.
   */
  markUsed(key: string, expiresAt: number, options?: StoreCallOptions): boolean | Promise<boolean>
}

/** Options of {@link createMemoryReplayStore}. */
export interface MemoryReplayStoreOptions {
  /** Most identifiers held at once. Default 100,000. */
  max?: number
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

/**
 * A bounded in-memory {@link ReplayStore}. An identifier is held until its `expiresAt`; expired
 * ones are dropped to make room. When every slot holds an identifier that has not expired yet the
 * store refuses to answer (`VerifierUnavailableError`, reason `replay_store_full`) rather than
 * forget one, because forgetting an unexpired identifier would let it be replayed. Bound
 * assertion lifetimes (`maxLifetime`) keep the store small.
 *
 * @example
 * ```ts
 * const replayStore = createMemoryReplayStore({ max: 50_000 })
 * ```
 */
export function createMemoryReplayStore(options: MemoryReplayStoreOptions = {}): ReplayStore {
  const max = readInteger('options.max', options.max, 100_000, 1)
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalidArgument('options.now', 'must be a function returning milliseconds')
  }
  const now = options.now ?? Date.now
  // key -> expiry in ms. A Map keeps insertion order, which is close to expiry order for
  // identifiers of similar lifetimes; purging walks it from the oldest.
  const used = new Map<string, number>()

  const purge = (at: number): void => {
    for (const [key, until] of used) {
      if (until <= at) used.delete(key)
    }
  }

  return {
    markUsed(key, expiresAt) {
      const at = now()
      const seen = used.get(key)
      if (seen !== undefined && seen > at) return false
      if (used.size >= max) {
        purge(at)
        if (used.size >= max) {
          throw new VerifierUnavailableError('The replay store is full of unexpired identifiers', {
            reason: 'replay_store_full',
            retryAfter: 1,
          })
        }
      }
      used.set(key, expiresAt * 1000)
      return true
    },
  }
}

/** Options of the `guard*` functions: the deadline of each call. */
export interface StoreGuardOptions {
  /** Deadline of each call in milliseconds. Default {@link DEFAULT_STORE_TIMEOUT} (100). */
  timeout?: number
}

/** A {@link ReplayStore} whose every answer is a checked `Promise<boolean>`. */
export interface GuardedReplayStore {
  markUsed(key: string, expiresAt: number, options?: StoreCallOptions): Promise<boolean>
}

/**
 * Wraps any {@link ReplayStore} so that it fails closed: each call has a deadline, an answer that
 * is not a boolean (`'OK'`, `1`, `null`, a Promise of one) is a failure, and every failure is a
 * `VerifierUnavailableError` (503) published on `STORE_CHANNEL`. Features call their replay store
 * through it.
 *
 * @example
 * ```ts
 * const replay = guardReplayStore(options.replayStore ?? createMemoryReplayStore())
 * if (!(await replay.markUsed(`${iss} ${jti}`, exp, { signal }))) return refuse('replayed')
 * ```
 */
export function guardReplayStore(
  store: ReplayStore,
  options: StoreGuardOptions = {},
): GuardedReplayStore {
  if (typeof store?.markUsed !== 'function') {
    throw invalidArgument('replayStore', 'must be a ReplayStore (an object with markUsed)')
  }
  const timeout = readStoreTimeout('options.timeout', options.timeout)
  return {
    async markUsed(key, expiresAt, callOptions) {
      const answer: unknown = await callStore(
        'replay',
        (signal) => store.markUsed(key, expiresAt, { signal }),
        { timeout, signal: callOptions?.signal },
      )
      if (typeof answer !== 'boolean') throw invalidStoreAnswer('replay')
      return answer
    },
  }
}
