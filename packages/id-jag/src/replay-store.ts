import { VerifierUnavailableError, invalidArgument } from '@bearerkit/core'

/**
 * Remembers which assertion identifiers (`jti`) were used, so that each assertion is accepted
 * once. The in-memory default suits one process; a fleet plugs in a shared implementation
 * (Redis `SET key 1 NX EXAT expiresAt`, say) behind the same interface.
 */
export interface ReplayStore {
  /**
   * Records `jti` as used until `expiresAt` (seconds since the epoch) and tells whether this was
   * its first use. Must be atomic: of two concurrent calls for one `jti`, exactly one sees `true`.
   * Throw (a `VerifierUnavailableError`, ideally) when the answer cannot be given: the assertion
   * is then refused, never accepted.
   */
  markUsed(jti: string, expiresAt: number): boolean | Promise<boolean>
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
 * forget one, because forgetting an unexpired identifier would let its assertion be replayed.
 * Bound assertion lifetimes (`maxLifetime`) keep the store small.
 *
 * @example
 * ```ts
 * const replayStore = createMemoryReplayStore({ max: 50_000 })
 * ```
 */
export function createMemoryReplayStore(options: MemoryReplayStoreOptions = {}): ReplayStore {
  const max = options.max ?? 100_000
  if (!Number.isSafeInteger(max) || max < 1) {
    throw invalidArgument('options.max', 'must be a positive integer')
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalidArgument('options.now', 'must be a function returning milliseconds')
  }
  const now = options.now ?? Date.now
  // jti -> expiry in ms. A Map keeps insertion order, which is close to expiry order for
  // assertions of similar lifetimes; purging walks it from the oldest.
  const used = new Map<string, number>()

  const purge = (at: number): void => {
    for (const [jti, until] of used) {
      if (until <= at) used.delete(jti)
    }
  }

  return {
    markUsed(jti, expiresAt) {
      const at = now()
      const seen = used.get(jti)
      if (seen !== undefined && seen > at) return false
      if (used.size >= max) {
        purge(at)
        if (used.size >= max) {
          throw new VerifierUnavailableError('The replay store is full of unexpired assertions', {
            reason: 'replay_store_full',
            retryAfter: 1,
          })
        }
      }
      used.set(jti, expiresAt * 1000)
      return true
    },
  }
}
