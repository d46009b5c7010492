import { timerDelay, type SharedCacheValue, type SharedResultCache } from '@bearerkit/core'
import { randomUUID } from 'node:crypto'
import type { Connection } from './lib/connection.js'
import { decodeValue, encodeValue } from './lib/codec.js'
import type { Keys } from './lib/keys.js'
import type { Subscriber } from './lib/subscriber.js'

// Releases a lock only if this instance still holds it (compare and delete), then wakes the
// waiters. One key, so one slot; PUBLISH reaches every node of a cluster.
const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`

const milliseconds = (ttl: number): number => Math.max(1, Math.ceil(ttl))

/**
 * The shared result cache on Redis. Values live under `{p}:c:{sha256(key)}` as
 * `{"v":1,"d":value}` with a `PX` time to live; a value of another version, or one that does not
 * parse, is a miss. Loads are coalesced across the fleet by a lock key in the same slot
 * (`SET ... NX PX`, so a dead holder's lock expires) and a notification on
 * `{p}:cache-loaded` when the holder is done.
 */
export function createRedisSharedCache(
  connection: Connection,
  keys: Keys,
  subscriber: Subscriber | undefined,
): SharedResultCache {
  // tag -> wake-up functions of the local waiters for it.
  const waiters = new Map<string, Set<() => void>>()
  // value key -> the nonce of a lock this instance holds.
  const held = new Map<string, string>()
  subscriber?.route(keys.cacheChannel, (tag) => {
    const wake = waiters.get(tag)
    if (wake === undefined) return
    waiters.delete(tag)
    for (const resolve of wake) resolve()
  })

  const read = async (key: string, signal?: AbortSignal): Promise<SharedCacheValue | undefined> => {
    const text = await connection.run(
      'cache',
      (client) => client.get(keys.cache(key).value),
      signal === undefined ? {} : { signal },
    )
    const data = decodeValue(text)?.d
    return typeof data === 'object' && data !== null && !Array.isArray(data)
      ? (data as SharedCacheValue)
      : undefined
  }

  return {
    get: (key, options) => read(key, options?.signal),
    async set(key, value, ttl, options) {
      await connection.run(
        'cache',
        (client) =>
          client.set(keys.cache(key).value, encodeValue({ d: value }), 'PX', milliseconds(ttl)),
        options,
      )
    },
    async delete(key, options) {
      await connection.run('cache', (client) => client.del(keys.cache(key).value), options)
    },
    async lock(key, ttl, options) {
      const { lock } = keys.cache(key)
      const nonce = randomUUID()
      const answer = await connection.run(
        'cache',
        (client) => client.set(lock, nonce, 'PX', milliseconds(ttl), 'NX'),
        options,
      )
      if (answer !== 'OK') return false
      held.set(lock, nonce)
      return true
    },
    async unlock(key, options) {
      const { lock, tag } = keys.cache(key)
      const nonce = held.get(lock)
      if (nonce === undefined) return
      held.delete(lock)
      await connection.run(
        'cache',
        (client) => client.eval(UNLOCK, 1, lock, nonce, keys.cacheChannel, tag),
        options,
      )
    },
    async wait(key, timeout, options) {
      const signal = options?.signal
      // Without a live subscription no wake-up would come: answer now, the caller loads itself.
      if (subscriber?.ready !== true) return read(key, signal)
      const { tag } = keys.cache(key)
      let wake: () => void = () => undefined
      const woken = new Promise<void>((resolve) => {
        wake = resolve
      })
      let set = waiters.get(tag)
      if (set === undefined) {
        set = new Set()
        waiters.set(tag, set)
      }
      set.add(wake)
      const timer = setTimeout(wake, timerDelay(timeout))
      const onAbort = (): void => wake()
      signal?.addEventListener('abort', onAbort, { once: true })
      try {
        // Registered first, then read: a value stored in between is found now, one stored later
        // wakes us.
        const early = await read(key, signal)
        if (early !== undefined) return early
        await woken
        return await read(key, signal)
      } finally {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        const current = waiters.get(tag)
        current?.delete(wake)
        if (current?.size === 0) waiters.delete(tag)
      }
    },
  }
}
