import {
  createRevocationSet,
  invalidArgument,
  publishStoreEvent,
  readRevocation,
  storeUnavailable,
  type Revocation,
  type RevocationList,
} from '@bearerkit/core'
import { randomUUID } from 'node:crypto'
import type { Connection } from './lib/connection.js'
import { FORMAT_VERSION } from './lib/codec.js'
import type { Keys } from './lib/keys.js'
import type { Subscriber } from './lib/subscriber.js'

// One revocation, atomically: merge with what is held for the same target (the later cutoff and
// expiry win), index its expiry, drop expired entries, set a fresh change mark, give the three
// keys the life of the longest entry, and announce the merged entry. All keys share the {rev}
// hash tag, so this runs on one slot of a cluster.
// KEYS: entries (hash), expiry (sorted set), mark. ARGV: field, JSON, until (ms), now (ms),
// mark, channel.
const REVOKE = `local value = ARGV[2]
local untilMs = tonumber(ARGV[3])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local ok, prev = pcall(cjson.decode, old)
  if ok and type(prev) == 'table' then
    local new = cjson.decode(value)
    if type(prev.before) == 'number' and type(new.before) == 'number' and prev.before > new.before then
      new.before = prev.before
    end
    if type(prev.expiresAt) == 'number' and prev.expiresAt > new.expiresAt then
      new.expiresAt = prev.expiresAt
      untilMs = math.ceil(prev.expiresAt * 1000)
    end
    value = cjson.encode(new)
  end
end
redis.call('HSET', KEYS[1], ARGV[1], value)
redis.call('ZADD', KEYS[2], untilMs, ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
for i = 1, #expired do redis.call('HDEL', KEYS[1], expired[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
redis.call('SET', KEYS[3], ARGV[5])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if last[2] then
  for i = 1, 3 do redis.call('PEXPIREAT', KEYS[i], last[2]) end
end
redis.call('PUBLISH', ARGV[6], value)
return value`

/** Settings of {@link createRedisRevocationList}. */
export interface RevocationSettings {
  /** How long the local copy may serve without confirming it is current, in milliseconds. */
  readonly maxStaleness: number
  /** How often the copy is confirmed against Redis (and resynchronised on a change), in ms. */
  readonly syncInterval: number
  readonly now: () => number
}

/** The revocation list on Redis, with its operational controls. */
export interface RedisRevocationList extends RevocationList {
  /**
   * Confirms the copy against Redis now (reloading it when anything changed); resolves when the
   * copy is current, rejects (503) when Redis cannot be read.
   */
  sync(): Promise<void>
  /** Whether the copy is current enough to answer `isRevoked`. */
  readonly fresh: boolean
  /** Number of entries in the local copy. */
  readonly size: number
  /** Stops the periodic confirmation. */
  stop(): void
}

const fieldOf = (revocation: Revocation): string => {
  switch (revocation.type) {
    case 'token':
      return `t:${revocation.jti}`
    case 'subject':
      return `s:${JSON.stringify([revocation.issuer, revocation.subject])}`
    case 'client':
      return `c:${revocation.clientId}`
  }
}

/**
 * Reads a stored or announced entry. Entries are additive across format versions (a later
 * version may add fields, never change these), so an entry of a newer version is read by the
 * fields this one knows: a rolling upgrade never drops a revocation. An entry that does not parse
 * is skipped and reported.
 */
const decodeRevocation = (text: unknown): Revocation | undefined => {
  try {
    const value: unknown = JSON.parse(String(text))
    const version = (value as { v?: unknown } | null)?.v
    if (typeof version !== 'number' || version < FORMAT_VERSION) return undefined
    return readRevocation('revocation', value)
  } catch {
    return undefined
  }
}

/**
 * The revocation list on Redis. Every instance keeps the whole list in memory (a
 * `RevocationSet`: the per-request check is a map lookup, no round trip):
 *
 * - a revocation is one script (merge, index, new change mark, `PUBLISH`); every instance applies
 *   the announced entry the moment it arrives, within milliseconds;
 * - every `syncInterval` each instance reads the change mark; when it differs from the one it
 *   loaded, it reloads the list. A missed message (a dropped connection, a failover) therefore
 *   costs at most one interval, and an instance whose connection comes back reloads before its
 *   copy counts as current again;
 * - the copy counts as current for `maxStaleness` after its last confirmation. Past it
 *   `isRevoked` throws `VerifierUnavailableError` (reason `store_stale`): every request is a 503
 *   until Redis answers again; it recovers on its own;
 * - a reload adds what Redis holds to the copy and never removes an unexpired entry: a revocation
 *   is never undone, even when a Redis without persistence restarts empty.
 */
export function createRedisRevocationList(
  connection: Connection,
  keys: Keys,
  subscriber: Subscriber,
  settings: RevocationSettings,
): RedisRevocationList {
  const { now, maxStaleness } = settings
  const copy = createRevocationSet()
  const listeners = new Set<(revocation: Revocation) => void>()
  // When the copy was last known to be current (ms), and the change mark it was loaded at.
  let confirmedAt = -Infinity
  let loadedMark: string | null | undefined
  let staleReported = false
  let syncing: Promise<void> | undefined

  // Listeners hear of changes only: the announcement of a revocation made here, or one already
  // loaded by a resynchronisation, changes nothing.
  const apply = (revocation: Revocation): void => {
    if (!copy.add(revocation)) return
    for (const listener of listeners) {
      try {
        listener(revocation)
      } catch {
        // A listener's failure is its own; the revocation stands.
      }
    }
  }

  subscriber.route(keys.revocationChannel, (message) => {
    const revocation = decodeRevocation(message)
    if (revocation === undefined) {
      publishStoreEvent({
        store: 'revocation',
        event: 'failure',
        reason: 'store_invalid_answer',
        source: 'redis',
      })
      return
    }
    apply(revocation)
  })

  const confirm = async (): Promise<void> => {
    const started = now()
    const mark = await connection.run('revocation', (client) => client.get(keys.revocationMark))
    if (mark !== loadedMark) await reload()
    confirmedAt = Math.max(confirmedAt, started)
    copy.prune(now())
    if (staleReported) {
      staleReported = false
      publishStoreEvent({
        store: 'revocation',
        event: 'recovered',
        reason: 'synced',
        source: 'redis',
      })
    }
  }

  const reload = async (): Promise<void> => {
    const results = await connection.run('revocation', (client) =>
      client.multi().hgetall(keys.revocationEntries).get(keys.revocationMark).exec(),
    )
    const [entries, mark] = results ?? []
    if (entries?.[0] || mark?.[0])
      throw storeUnavailable('revocation', 'store_error', entries?.[0] ?? mark?.[0])
    const stored = (entries?.[1] ?? {}) as Record<string, string>
    let unreadable = 0
    for (const text of Object.values(stored)) {
      const revocation = decodeRevocation(text)
      if (revocation === undefined) unreadable++
      else apply(revocation)
    }
    if (unreadable > 0) {
      publishStoreEvent({
        store: 'revocation',
        event: 'failure',
        reason: 'store_invalid_answer',
        source: 'redis',
      })
    }
    loadedMark = (mark?.[1] as string | null | undefined) ?? null
  }

  const sync = (): Promise<void> => {
    syncing ??= confirm().finally(() => {
      syncing = undefined
    })
    return syncing
  }

  // Every (re)subscription may have missed messages: reload before trusting the copy again.
  subscriber.onSubscribed(() => {
    loadedMark = undefined
    sync().catch(() => undefined)
  })

  const timer =
    settings.syncInterval > 0
      ? setInterval(() => {
          sync().catch(() => undefined)
        }, settings.syncInterval)
      : undefined
  timer?.unref?.()
  sync().catch(() => undefined)

  return {
    isRevoked(token) {
      const at = now()
      if (at - confirmedAt > maxStaleness) {
        if (!staleReported) {
          staleReported = true
          publishStoreEvent({
            store: 'revocation',
            event: 'degraded',
            reason: 'store_stale',
            source: 'redis',
          })
        }
        throw storeUnavailable('revocation', 'store_stale')
      }
      return copy.matches(token, at)
    },
    async revoke(input, options) {
      const revocation = readRevocation('revocation', input)
      const value = JSON.stringify({ v: FORMAT_VERSION, ...revocation })
      const answer = await connection.run(
        'revocation',
        (client) =>
          client.eval(
            REVOKE,
            3,
            keys.revocationEntries,
            keys.revocationExpiry,
            keys.revocationMark,
            fieldOf(revocation),
            value,
            Math.ceil(revocation.expiresAt * 1000),
            now(),
            randomUUID(),
            keys.revocationChannel,
          ),
        options,
      )
      // The announcement reaches this instance too; applying now makes it effective here at once.
      apply(decodeRevocation(answer) ?? revocation)
    },
    subscribe(listener) {
      if (typeof listener !== 'function') throw invalidArgument('listener', 'must be a function')
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    sync,
    get fresh() {
      return now() - confirmedAt <= maxStaleness
    },
    get size() {
      return copy.size
    },
    stop() {
      if (timer !== undefined) clearInterval(timer)
    },
  }
}
