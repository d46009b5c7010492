import {
  createRevocationSet,
  invalidArgument,
  invalidStoreAnswer,
  publishStoreEvent,
  readRevocation,
  storeUnavailable,
  timerDelay,
  type Revocation,
  type RevocationList,
} from '@bearerkit/core'
import { randomUUID } from 'node:crypto'
import type { Connection } from './lib/connection.js'
import { FORMAT_VERSION } from './lib/codec.js'
import type { Keys } from './lib/keys.js'
import { CHANGES_AFTER, REVOKE, parseMark, type SequenceMark } from './lib/revocation-scripts.js'
import type { Subscriber } from './lib/subscriber.js'

// Entries read per round trip when catching up: a gap of any size costs bounded reads.
const BATCH = 500

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
   * Confirms the copy against Redis now (reading what changed since the copy's mark, or the whole
   * list when the sequence was broken); resolves when the copy is current, rejects (503) when
   * Redis cannot be read.
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

/** The error of one reply of a `MULTI` (`[error, answer]`), if it has one. */
const errorOf = (reply: unknown): unknown =>
  Array.isArray(reply) && reply[0] !== null && reply[0] !== undefined ? reply[0] : undefined

/** The answer of one reply of a `MULTI`; `undefined` for a reply that is not `[error, answer]`. */
const answerOf = (reply: unknown): unknown =>
  Array.isArray(reply) && reply.length === 2 ? (reply as unknown[])[1] : undefined

/** The sequence mark an announcement carries; `undefined` for an older release's. */
const markOf = (message: string): SequenceMark | undefined => {
  try {
    return parseMark((JSON.parse(message) as { mark?: unknown } | null)?.mark)
  } catch {
    return undefined
  }
}

/**
 * The revocation list on Redis. Every instance keeps the whole list in memory (a
 * `RevocationSet`: the per-request check is a map lookup, no round trip), and keeps it current
 * incrementally:
 *
 * - a revocation is one script (merge, index, next sequence number, log, `PUBLISH`); the change
 *   mark is `<epoch>:<sequence>` (see `lib/revocation-scripts.ts`). Every instance applies the
 *   announced entry the moment it arrives; when the copy holds sequence n and the announcement
 *   is n + 1, the copy advances to n + 1 with no read at all;
 * - an announcement further ahead (a missed message), and every `syncInterval` a mark found ahead
 *   of the copy, cost a read of the entries changed after n only, in batches of 500;
 * - a mark behind the copy, of another epoch or of no sequence at all (Redis restarted empty, was
 *   flushed or failed over; an instance of an older release changed the list), and every
 *   (re)subscription, cost a full reload;
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
  // When the copy was last known to be current (ms).
  let confirmedAt = -Infinity
  // The copy holds every change of `held.epoch` up to `held.seq`; undefined when the list was
  // loaded at a mark that is not a sequence (`loadedMark`: none yet, or an older release's).
  let held: SequenceMark | undefined
  let loadedMark: string | null | undefined
  // Set by a (re)subscription: the next confirmation reloads the whole list.
  let reloadWanted = true
  let staleReported = false
  let syncing: Promise<void> | undefined
  // A confirmation was asked for while one was running (whose read may predate the reason).
  let again = false

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

  const invalidAnswer = (): void => {
    publishStoreEvent({
      store: 'revocation',
      event: 'failure',
      reason: 'store_invalid_answer',
      source: 'redis',
    })
  }

  // Applies stored entries; reports (once) those that do not parse.
  const applyStored = (texts: Iterable<string>): void => {
    let unreadable = 0
    for (const text of texts) {
      const revocation = decodeRevocation(text)
      if (revocation === undefined) unreadable++
      else apply(revocation)
    }
    if (unreadable > 0) invalidAnswer()
  }

  const sync = (): Promise<void> => {
    syncing ??= confirm().finally(() => {
      syncing = undefined
      if (again) {
        again = false
        sync().catch(() => undefined)
      }
    })
    return syncing
  }
  const syncSoon = (): void => {
    if (syncing === undefined) sync().catch(() => undefined)
    else again = true
  }

  subscriber.route(keys.revocationChannel, (message) => {
    const revocation = decodeRevocation(message)
    if (revocation === undefined) {
      invalidAnswer()
      return
    }
    apply(revocation)
    const mark = markOf(message)
    if (mark === undefined) return // an older release's announcement: the next check reloads
    if (held !== undefined && mark.epoch === held.epoch && mark.seq === held.seq + 1) {
      held = mark // the next change in sequence, and it is applied: nothing to read
    } else if (held === undefined || mark.epoch !== held.epoch || mark.seq > held.seq) {
      syncSoon() // a gap, or a new sequence: catch up now rather than at the next interval
    }
    // An announcement at or before the copy's sequence (its own, heard late) changes nothing.
  })

  const confirm = async (): Promise<void> => {
    const started = now()
    const mark = await connection.run('revocation', (client) => client.get(keys.revocationMark))
    const stored = parseMark(mark)
    if (reloadWanted) {
      await reload()
    } else if (held !== undefined && stored !== undefined && stored.epoch === held.epoch) {
      // Ahead: read what changed since. Behind: Redis lost changes (a failover to a replica that
      // lagged), and the numbers after it will be reused: reload, and count from there.
      if (stored.seq > held.seq) await catchUp(held)
      else if (stored.seq < held.seq) await reload()
    } else if (held !== undefined || stored !== undefined || mark !== loadedMark) {
      await reload()
    }
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
    // Cleared first, so that a resubscription while this read is under way asks for another; a
    // reload that fails asks again, whatever failed.
    reloadWanted = false
    try {
      await readWholeList()
    } catch (error) {
      reloadWanted = true
      throw error
    }
  }

  const readWholeList = async (): Promise<void> => {
    const results: unknown = await connection.run('revocation', (client) =>
      client.multi().hgetall(keys.revocationEntries).get(keys.revocationMark).exec(),
    )
    const [entries, mark] = Array.isArray(results) ? (results as unknown[]) : []
    const failed = errorOf(entries) ?? errorOf(mark)
    if (failed !== undefined) throw storeUnavailable('revocation', 'store_error', failed)
    // Only a hash and a mark (or none) are a list: anything else (an aborted transaction, an
    // answer of the wrong type) would pass an empty copy for the whole list, and every revoked
    // token would be accepted. The copy stays unconfirmed: past maxStaleness, 503.
    const fields = answerOf(entries)
    const loaded = answerOf(mark)
    if (
      typeof fields !== 'object' ||
      fields === null ||
      Array.isArray(fields) ||
      !Object.values(fields).every((text) => typeof text === 'string') ||
      (loaded !== null && typeof loaded !== 'string')
    ) {
      throw invalidStoreAnswer('revocation')
    }
    applyStored(Object.values(fields as Record<string, string>))
    // Everything up to the mark read with the entries is in the copy now. A lower sequence than
    // announcements may have advanced `held` to meanwhile only costs a read of a few entries.
    loadedMark = loaded
    held = parseMark(loadedMark)
  }

  // Reads the changes after `from` in bounded batches, each atomic with the mark it belongs to.
  const catchUp = async (from: SequenceMark): Promise<void> => {
    let after = from.seq
    for (;;) {
      const answer = await connection.run('revocation', (client) =>
        client.eval(
          CHANGES_AFTER,
          3,
          keys.revocationLog,
          keys.revocationEntries,
          keys.revocationMark,
          after,
          BATCH,
        ),
      )
      const rows = Array.isArray(answer) ? (answer as unknown[]) : []
      const stored = parseMark(rows[0])
      if (stored === undefined || stored.epoch !== from.epoch || stored.seq < after) {
        // The sequence ended or went back between two reads: start from the whole list.
        await reload()
        return
      }
      const texts: string[] = []
      let last = after
      for (let i = 1; i + 1 < rows.length; i += 2) {
        last = Number(rows[i])
        const text = rows[i + 1]
        // An empty entry expired and was dropped after it was logged: nothing to apply.
        if (typeof text === 'string' && text !== '') texts.push(text)
      }
      applyStored(texts)
      const complete = (rows.length - 1) / 2 < BATCH
      const reached = complete ? stored.seq : last
      // Announcements may have advanced the copy meanwhile; it holds the larger of the two.
      if (held?.epoch === from.epoch && held.seq < reached)
        held = { epoch: from.epoch, seq: reached }
      if (complete || !Number.isSafeInteger(last) || last <= after) return
      after = last
    }
  }

  // Every (re)subscription may have missed messages, or follow a failover: reload before
  // trusting the copy again.
  subscriber.onSubscribed(() => {
    reloadWanted = true
    syncSoon()
  })

  const timer =
    settings.syncInterval > 0
      ? setInterval(() => {
          sync().catch(() => undefined)
        }, timerDelay(settings.syncInterval))
      : undefined
  timer?.unref?.()
  sync().catch(() => undefined)

  return {
    isRevoked(token) {
      const at = now()
      // Written as "not current" so that a clock answering NaN counts as stale, not as fresh.
      if (!(at - confirmedAt <= maxStaleness)) {
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
            4,
            keys.revocationEntries,
            keys.revocationExpiry,
            keys.revocationMark,
            keys.revocationLog,
            fieldOf(revocation),
            value,
            Math.ceil(revocation.expiresAt * 1000),
            now(),
            randomUUID(),
            keys.revocationChannel,
          ),
        options,
      )
      // The announcement reaches this instance too (and advances its sequence); applying now
      // makes the revocation effective here at once.
      const [merged, mark] = Array.isArray(answer) ? (answer as unknown[]) : []
      apply(decodeRevocation(merged) ?? revocation)
      // Any other answer than the script's says nothing about whether Redis recorded it: held
      // here all the same (refusing more is the safe side), but the caller must not be told it
      // reached the fleet.
      if (typeof merged !== 'string' || typeof mark !== 'string') {
        throw invalidStoreAnswer('revocation')
      }
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
