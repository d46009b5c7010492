import { invalidArgument } from '../errors.js'
import type { StoreCallOptions } from './store-call.js'
import type { GuardedSharedCache, SharedCacheValue } from './shared-cache.js'

/** What a loader found: the value, and how long it may be shared (0: not at all). */
export interface SharedLoadResult {
  readonly value: SharedCacheValue
  /** Milliseconds the value may be shared; 0 or less keeps it out of the shared cache. */
  readonly ttl: number
}

/** Options of {@link loadThroughSharedCache}. */
export interface SharedLoadOptions extends StoreCallOptions {
  /**
   * Life of the load lock in milliseconds, and the longest another instance waits for the
   * holder's answer before loading itself. Default 2,000: a little above an upstream's timeout.
   */
  readonly lockTtl?: number
}

/** Where a shared load's value came from. */
export type SharedLoadSource = 'hit' | 'waited' | 'loaded'

/**
 * Reads `key` from the shared cache, or loads it once for the fleet:
 * 1. a hit answers;
 * 2. otherwise, when the cache coalesces, the first instance takes the lock and loads, the others
 *    wait for its answer (at most `lockTtl`, then load themselves: a dead holder costs time,
 *    never a deadlock);
 * 3. the loaded value is stored for `ttl`, then the lock is released (waiters wake on either).
 *
 * A cache that fails is a miss: the loader runs. A loader that throws (the upstream is down)
 * throws here too, after the lock is released so the others stop waiting.
 *
 * @example
 * ```ts
 * const { value } = await loadThroughSharedCache(shared, key, async () => {
 *   const answer = await introspect(token)
 *   return { value: answer, ttl: 30_000 }
 * })
 * ```
 */
export async function loadThroughSharedCache(
  cache: GuardedSharedCache,
  key: string,
  loader: () => Promise<SharedLoadResult>,
  options: SharedLoadOptions = {},
): Promise<{ value: SharedCacheValue; source: SharedLoadSource }> {
  const lockTtl = options.lockTtl ?? 2_000
  if (typeof lockTtl !== 'number' || !Number.isFinite(lockTtl) || lockTtl <= 0) {
    throw invalidArgument('options.lockTtl', 'must be a finite number of milliseconds > 0')
  }
  const callOptions = options.signal === undefined ? {} : { signal: options.signal }
  const hit = await cache.get(key, callOptions)
  if (hit !== undefined) return { value: hit, source: 'hit' }
  let holder = false
  if (cache.coalesces) {
    const locked = await cache.lock(key, lockTtl, callOptions)
    if (locked === false) {
      const value = await cache.wait(key, lockTtl, callOptions)
      if (value !== undefined) return { value, source: 'waited' }
      // The holder died, failed or was slow: load without the lock rather than wait again.
    }
    holder = locked === true
  }
  let result: SharedLoadResult
  try {
    result = await loader()
  } catch (error) {
    if (holder) await cache.unlock(key)
    throw error
  }
  // Stored before the lock is released, so a woken waiter finds the value.
  if (result.ttl > 0) await cache.set(key, result.value, result.ttl)
  if (holder) await cache.unlock(key)
  return { value: result.value, source: 'loaded' }
}
