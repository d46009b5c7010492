import {
  VerifierUnavailableError,
  type ReplayStore,
  type SessionStore,
  type SharedResultCache,
} from '@bearerkit/core'
import { Redis } from 'ioredis'
import { createConnection, type RedisClient } from './lib/connection.js'
import { createKeys } from './lib/keys.js'
import { createSubscriber } from './lib/subscriber.js'
import { resolveRedisStoresOptions, type RedisStoresOptions } from './options.js'
import { createRedisReplayStore } from './replay-store.js'
import { createRedisRevocationList, type RedisRevocationList } from './revocation-list.js'
import { createRedisSessionStore } from './session-store.js'
import { createRedisSharedCache } from './shared-cache.js'

/** The four bearerkit stores on one Redis (or Redis Cluster). */
export interface RedisStores {
  /** ID-JAG, DPoP and client-assertion `jti`s: claimed once per fleet. */
  readonly replay: ReplayStore
  /** Session id -> principal, for session binding across instances. */
  readonly sessions: SessionStore
  /** Introspection answers shared by the fleet, with fleet-wide load coalescing. */
  readonly cache: SharedResultCache
  /** Revocations pushed to every instance. */
  readonly revocations: RedisRevocationList
  /** The client the stores use (yours, or the one opened from `url`). */
  readonly client: RedisClient
  /**
   * Resolves once Redis answers and the revocation list is loaded; rejects after `timeout`
   * milliseconds (default 5,000). Await it before serving: until then revocation checks fail
   * closed.
   */
  ready(options?: { timeout?: number }): Promise<void>
  /**
   * Stops the sync timer and closes the connections the stores opened: the pub/sub connection,
   * and the client when it was opened from `url`. Your own client is left open.
   */
  close(): Promise<void>
}

/**
 * Creates the replay store, session store, shared result cache and revocation list on Redis >= 6.2
 * or Redis Cluster, through ioredis.
 *
 * - every key is under `prefix`, carries a TTL, and is built so that each command touches one
 *   cluster slot; identifiers and cache keys are stored as SHA-256 hashes, tokens never;
 * - every command has a deadline (`timeout`, default 100 ms): a slow, paused or failing-over Redis
 *   costs at most that, then replay, session and revocation decisions fail closed (503) while the
 *   cache degrades to a miss;
 * - health changes are published on `STORE_CHANNEL` (`node:diagnostics_channel`).
 *
 * @see https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags Redis Cluster hash tags
 * @example
 * ```ts
 * import { createRedisStores } from '@bearerkit/redis'
 *
 * const stores = createRedisStores({ url: process.env.BEARERKIT_REDIS_URL })
 * await stores.ready()
 * // pass stores.replay, stores.sessions, stores.cache, stores.revocations to the features
 * ```
 */
export function createRedisStores(options: RedisStoresOptions): RedisStores {
  const settings = resolveRedisStoresOptions(options)
  const owned = settings.redis === undefined
  const client: RedisClient =
    settings.redis ??
    new Redis(settings.url as string, {
      // Bounded queues: a command issued while Redis is away fails at once instead of waiting
      // for a reconnection that may never come; the stores turn that into their fail-closed or
      // degrade-to-miss answer.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // A command that was sent when the connection dropped has already been answered 503 by
      // its deadline: resending it after the reconnection would record a claim (or a session)
      // that its caller was told failed, and a retry of the same assertion would then be refused
      // as a replay.
      autoResendUnfulfilledCommands: false,
      commandTimeout: settings.timeout,
      connectTimeout: 2_000,
      // Reconnect forever, at most a second apart: recovery needs no restart.
      retryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
      ...settings.redisOptions,
    })
  if (owned) client.on('error', () => undefined)
  const connection = createConnection(client, settings.timeout)
  const keys = createKeys(settings.prefix)
  const subscriber = createSubscriber(client, [keys.revocationChannel, keys.cacheChannel])
  const revocations = createRedisRevocationList(connection, keys, subscriber, {
    ...settings.revocations,
    now: settings.now,
  })
  let closed = false

  return {
    replay: createRedisReplayStore(connection, keys, settings.now),
    sessions: createRedisSessionStore(connection, keys),
    cache: createRedisSharedCache(connection, keys, subscriber),
    revocations,
    client,
    async ready(readyOptions = {}) {
      const deadline = Date.now() + (readyOptions.timeout ?? 5_000)
      let last: unknown
      while (Date.now() < deadline) {
        try {
          await revocations.sync()
          if (subscriber.ready) return
          last = undefined
        } catch (error) {
          last = error
        }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      throw last instanceof Error
        ? last
        : new VerifierUnavailableError('Redis did not become ready in time', {
            reason: 'store_timeout',
            retryAfter: 1,
          })
    },
    async close() {
      if (closed) return
      closed = true
      revocations.stop()
      await subscriber.close()
      if (owned) client.disconnect()
    },
  }
}
