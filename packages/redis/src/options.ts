import {
  invalidArgument,
  readInteger,
  readOptionalString,
  readOptionsObject,
  readStoreTimeout,
  rejectUnknownOptions,
} from '@bearerkit/core'
import type { Cluster, Redis, RedisOptions } from 'ioredis'
import { isRedisClient } from './lib/connection.js'

/** Options of {@link createRedisStores}. Give `redis` or `url`, not both. */
export interface RedisStoresOptions {
  /**
   * Your ioredis `Redis` or `Cluster` instance (for example @fastify/redis's). It is never closed
   * by these stores; `close()` only closes the pub/sub connection they open beside it.
   */
  redis?: Redis | Cluster | undefined
  /**
   * A `redis://` or `rediss://` URL: the stores open the connection, with bounded queues (no
   * offline queue, one retry per request, a command timeout), and close it on `close()`.
   */
  url?: string | undefined
  /** Extra ioredis options for the connection opened from `url`. */
  redisOptions?: RedisOptions | undefined
  /**
   * Start of every key and channel name. Default `bearerkit`. Give each application (or
   * environment) sharing one Redis its own. It may not contain `{` or `}` (hash tags are ours).
   */
  prefix?: string | undefined
  /** Deadline of each Redis command, in milliseconds. Default 100. */
  timeout?: number | undefined
  /** Settings of the revocation list. */
  revocations?: RedisRevocationOptions | undefined
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: (() => number) | undefined
}

/** Options of the revocation list of {@link createRedisStores}. */
export interface RedisRevocationOptions {
  /**
   * How long the local copy may keep answering without having confirmed it is current, in
   * milliseconds. Default 30,000. Past it, while Redis cannot be reached, every revocation check
   * (so every request) fails closed with a 503. Lower it if a revocation must hold even against
   * an instance cut off from Redis; raise it to ride out longer Redis outages.
   */
  maxStaleness?: number
  /** How often the copy is confirmed against Redis, in milliseconds. Default 1,000; 0: never. */
  syncInterval?: number
}

/** The settings resolved from {@link RedisStoresOptions}. */
export interface RedisStoresSettings {
  readonly redis: Redis | Cluster | undefined
  readonly url: string | undefined
  readonly redisOptions: RedisOptions
  readonly prefix: string
  readonly timeout: number
  readonly revocations: { readonly maxStaleness: number; readonly syncInterval: number }
  readonly now: () => number
}

const KNOWN = ['redis', 'url', 'redisOptions', 'prefix', 'timeout', 'revocations', 'now']
const KNOWN_REVOCATIONS = ['maxStaleness', 'syncInterval']
const PREFIX = /^[A-Za-z0-9:._-]{1,64}$/

/** Resolves and checks {@link RedisStoresOptions} once, into frozen settings. */
export function resolveRedisStoresOptions(input: unknown): RedisStoresSettings {
  const options = readOptionsObject('options', input)
  rejectUnknownOptions('options', options, KNOWN)
  const url = readOptionalString('options.url', options.url)
  const redis = options.redis
  if (redis !== undefined && !isRedisClient(redis)) {
    throw invalidArgument('options.redis', 'must be an ioredis Redis or Cluster instance')
  }
  if ((redis === undefined) === (url === undefined)) {
    throw invalidArgument('options', 'needs exactly one of `redis` (a client) or `url`')
  }
  if (url !== undefined && !/^rediss?:\/\//.test(url)) {
    // The URL may hold a password: never quote it.
    throw invalidArgument('options.url', 'must be a redis:// or rediss:// URL')
  }
  if (redis !== undefined && options.redisOptions !== undefined) {
    // They would be silently ignored: the connection is the given client's.
    throw invalidArgument(
      'options.redisOptions',
      'applies only to the connection opened from `url`; set them on your own `redis` client',
    )
  }
  const redisOptions = readOptionsObject('options.redisOptions', options.redisOptions)
  const prefix = options.prefix ?? 'bearerkit'
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw invalidArgument('options.prefix', 'must be 1 to 64 of A-Z a-z 0-9 : . _ - (no braces)')
  }
  const timeout = readStoreTimeout('options.timeout', options.timeout)
  const given = readOptionsObject('options.revocations', options.revocations)
  rejectUnknownOptions('options.revocations', given, KNOWN_REVOCATIONS)
  const syncInterval = readInteger('options.revocations.syncInterval', given.syncInterval, 1_000)
  const maxStaleness = readInteger(
    'options.revocations.maxStaleness',
    given.maxStaleness,
    30_000,
    1,
  )
  if (syncInterval > 0 && maxStaleness <= syncInterval) {
    throw invalidArgument(
      'options.revocations.maxStaleness',
      'must be longer than syncInterval, or the copy goes stale between two confirmations',
    )
  }
  const revocations = Object.freeze({ maxStaleness, syncInterval })
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalidArgument('options.now', 'must be a function returning milliseconds')
  }
  return Object.freeze({
    redis: redis,
    url,
    redisOptions: redisOptions,
    prefix,
    timeout,
    revocations,
    now: (options.now as (() => number) | undefined) ?? Date.now,
  })
}
