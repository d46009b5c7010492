import { LRUCache } from 'lru-cache'
import { invalidArgument, isVerifierUnavailable } from '../errors.js'
import { isOptionsObject, readInteger } from '../options.js'
import { callStore, readStoreTimeout, type StoreCallOptions } from './store-call.js'
import { publishStoreEvent } from './store-events.js'
import type { StoreGuardOptions } from './replay-store.js'

/** A cached answer: a JSON object (what an introspection endpoint said, for example). */
export type SharedCacheValue = Readonly<Record<string, unknown>>

/**
 * A cache of verification answers shared by a fleet (introspection answers first), keyed by a
 * hash of the token and of the configuration that produced the answer (see `tokenCacheKey`):
 * never by the token, and never shared by two configurations. Values must not contain the token.
 *
 * Failure semantics: a cache only costs speed. A cache that throws, misses its deadline or
 * answers the wrong type is a miss (the caller asks the upstream), never a 503 and never a yes;
 * see {@link guardSharedCache}.
 *
 * The optional `lock` / `unlock` / `wait` trio lets concurrent first uses of one token across a
 * fleet make one upstream request: the first instance takes a short lock and loads, the others
 * wait for its answer. A lock expires on its own (its `ttl`), so a holder that dies never blocks
 * anyone for longer.
 */
export interface SharedResultCache {
  /** The value under `key`, or `undefined`. */
  get(
    key: string,
    options?: StoreCallOptions,
  ): SharedCacheValue | undefined | Promise<SharedCacheValue | undefined>
  /** Stores `value` under `key` for `ttl` milliseconds. */
  set(
    key: string,
    value: SharedCacheValue,
    ttl: number,
    options?: StoreCallOptions,
  ): void | Promise<void>
  /** Drops the value under `key`. */
  delete(key: string, options?: StoreCallOptions): void | Promise<void>
  /** Takes the load lock of `key` for `ttl` milliseconds; false when another holder has it. */
  lock?(key: string, ttl: number, options?: StoreCallOptions): boolean | Promise<boolean>
  /** Releases the load lock of `key` and wakes the instances waiting for it. */
  unlock?(key: string, options?: StoreCallOptions): void | Promise<void>
  /**
   * Waits until a value is stored under `key` or the lock is released (at most `timeout`
   * milliseconds), then answers what is stored (`undefined` when nothing is).
   */
  wait?(
    key: string,
    timeout: number,
    options?: StoreCallOptions,
  ): SharedCacheValue | undefined | Promise<SharedCacheValue | undefined>
}

/** Options of {@link createMemorySharedCache}. */
export interface MemorySharedCacheOptions {
  /** Most values held; the least recently used go first. Default 10,000. */
  max?: number
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

/**
 * A bounded in-memory {@link SharedResultCache} for one process (no `lock`: within a process a
 * verifier already coalesces concurrent loads of one token).
 *
 * @example
 * ```ts
 * const cache = createMemorySharedCache({ max: 50_000 })
 * ```
 */
export function createMemorySharedCache(options: MemorySharedCacheOptions = {}): SharedResultCache {
  const max = readInteger('options.max', options.max, 10_000, 1)
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalidArgument('options.now', 'must be a function returning milliseconds')
  }
  const now = options.now ?? Date.now
  const values = new LRUCache<string, { value: SharedCacheValue; until: number }>({ max })
  return {
    get(key) {
      const entry = values.get(key)
      if (entry === undefined) return undefined
      if (entry.until > now()) return entry.value
      values.delete(key)
      return undefined
    },
    set(key, value, ttl) {
      values.set(key, { value, until: now() + ttl })
    },
    delete(key) {
      values.delete(key)
    },
  }
}

/** A {@link SharedResultCache} that never throws and never waits past its deadline. */
export interface GuardedSharedCache {
  /** Whether the cache coordinates loads across instances (it has lock, unlock and wait). */
  readonly coalesces: boolean
  /** The value, or `undefined` on a miss or any failure. */
  get(key: string, options?: StoreCallOptions): Promise<SharedCacheValue | undefined>
  /** Stores the value; failures are published and swallowed. */
  set(key: string, value: SharedCacheValue, ttl: number, options?: StoreCallOptions): Promise<void>
  /** Drops the value; failures are published and swallowed. */
  delete(key: string, options?: StoreCallOptions): Promise<void>
  /** `true`: this caller loads; `false`: another instance does; `undefined`: cannot tell. */
  lock(key: string, ttl: number, options?: StoreCallOptions): Promise<boolean | undefined>
  /** Releases the lock; failures are published and swallowed. */
  unlock(key: string, options?: StoreCallOptions): Promise<void>
  /** The value once another instance stored it, or `undefined` (timeout, failure). */
  wait(
    key: string,
    timeout: number,
    options?: StoreCallOptions,
  ): Promise<SharedCacheValue | undefined>
}

/**
 * Wraps any {@link SharedResultCache} so that it only ever costs speed: every call has a deadline,
 * a failure or a wrong-typed answer is published on `STORE_CHANNEL` and read as a miss, and the
 * caller's abort still rejects (the request is gone; nothing is decided for it).
 *
 * @example
 * ```ts
 * const shared = guardSharedCache(redisStores.cache)
 * const hit = await shared.get(key, { signal })
 * ```
 */
export function guardSharedCache(
  store: SharedResultCache,
  options: StoreGuardOptions = {},
): GuardedSharedCache {
  for (const method of ['get', 'set', 'delete'] as const) {
    if (typeof store?.[method] !== 'function') {
      throw invalidArgument('sharedCache', 'must be a SharedResultCache (get, set, delete)')
    }
  }
  const timeout = readStoreTimeout('options.timeout', options.timeout)
  const coalesces =
    typeof store.lock === 'function' &&
    typeof store.unlock === 'function' &&
    typeof store.wait === 'function'

  // Runs one call; a store failure becomes `fallback`, the caller's own abort still rejects.
  const call = async <T>(
    work: (signal: AbortSignal) => unknown,
    check: (answer: unknown) => answer is T,
    fallback: T,
    callOptions: StoreCallOptions | undefined,
    deadline = timeout,
  ): Promise<T> => {
    let answer: unknown
    try {
      answer = await callStore('cache', work, { timeout: deadline, signal: callOptions?.signal })
    } catch (error) {
      if (!isVerifierUnavailable(error)) throw error
      return fallback
    }
    if (check(answer)) return answer
    publishStoreEvent({ store: 'cache', event: 'failure', reason: 'store_invalid_answer' })
    return fallback
  }
  const isValue = (answer: unknown): answer is SharedCacheValue | undefined =>
    answer === undefined || (isOptionsObject(answer) && !Array.isArray(answer))
  const isAnything = (_answer: unknown): _answer is undefined => true
  const isLock = (answer: unknown): answer is boolean | undefined =>
    answer === undefined || typeof answer === 'boolean'

  return {
    coalesces,
    get: (key, callOptions) =>
      call((signal) => store.get(key, { signal }), isValue, undefined, callOptions),
    set: (key, value, ttl, callOptions) =>
      call((signal) => store.set(key, value, ttl, { signal }), isAnything, undefined, callOptions),
    delete: (key, callOptions) =>
      call((signal) => store.delete(key, { signal }), isAnything, undefined, callOptions),
    lock: (key, ttl, callOptions) =>
      coalesces
        ? call((signal) => store.lock?.(key, ttl, { signal }), isLock, undefined, callOptions)
        : Promise.resolve(undefined),
    unlock: (key, callOptions) =>
      coalesces
        ? call((signal) => store.unlock?.(key, { signal }), isAnything, undefined, callOptions)
        : Promise.resolve(),
    // Waiting is the one call allowed to last longer than a round trip: up to the lock's life.
    wait: (key, waitFor, callOptions) =>
      coalesces
        ? call(
            (signal) => store.wait?.(key, waitFor, { signal }),
            isValue,
            undefined,
            callOptions,
            waitFor + timeout,
          )
        : Promise.resolve(undefined),
  }
}
