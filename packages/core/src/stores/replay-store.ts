import { VerifierUnavailableError, invalidArgument } from '../errors.js'
import { readInteger } from '../options.js'
import { processKeyWords } from '../token-key.js'
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

// Entries first held; the arrays double as the store fills, up to `max`.
const INITIAL_ENTRIES = 256
const EMPTY = -Infinity

/**
 * A bounded in-memory {@link ReplayStore}. An identifier is held until its `expiresAt`; expired
 * ones are dropped to make room. When every slot holds an identifier that has not expired yet the
 * store refuses to answer (`VerifierUnavailableError`, reason `replay_store_full`) rather than
 * forget one, because forgetting an unexpired identifier would let it be replayed. Bound
 * assertion lifetimes (`maxLifetime`) keep the store small. Answers synchronously.
 *
 * Identifiers are held as a 128-bit hash keyed with a secret of this process (the one of
 * `processTokenKey`), not as strings: the store allocates nothing per identifier, so a busy
 * store gives the garbage collector nothing to copy. Two identifiers with the same hash count as
 * one: the second is answered as a replay, a refusal and never an acceptance. Nobody outside the
 * process can compute the hash, so nobody can aim an identifier at another's.
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
  const table = new HashedExpiries(max)
  return {
    markUsed(key, expiresAt) {
      // The clock first: it is the caller's code, and the hash below goes through shared scratch
      // space that nothing may reuse until the lookup is done.
      const at = now()
      // A clock or an expiry that is not a number would make every comparison false: an
      // identifier held for no time, accepted again. The answer cannot be given: fail closed.
      // (An expiry of Infinity is an identifier that never expires.)
      if (!Number.isFinite(at) || typeof expiresAt !== 'number' || Number.isNaN(expiresAt)) {
        throw new VerifierUnavailableError('The replay store got no usable time', {
          reason: 'replay_store_clock',
        })
      }
      return table.claim(key, expiresAt * 1000, at)
    },
  }
}

/**
 * The table behind the memory replay store: identifiers as 128-bit keyed hashes with their expiry,
 * in typed arrays.
 *
 * Entries live in insertion order in a ring (`words`: four hash words each, `expiries`: the expiry
 * in milliseconds, {@link EMPTY} for a hole left by a deletion). An open-addressing table with
 * linear probing (`slots`: pairs of entry index + 1, 0 for a free slot, and the entry's first hash
 * word, so that probing and deleting read no entry but the one sought; at most half full) finds an
 * entry by its hash; a deletion shifts the probe chain back instead of leaving a tombstone, so no lookup
 * ever slows down with churn. Expired entries leave from the head of the ring as new ones come in
 * (identifiers of similar lifetimes expire in about the order they came); when the store is full,
 * a scan of every entry drops the expired ones wherever they are, and the ring is compacted when
 * holes fill it. The scan is skipped while no entry can have expired (`earliest`).
 */
class HashedExpiries {
  private capacity = 0
  private words = new Int32Array(0)
  private expiries = new Float64Array(0)
  private slots = new Int32Array(0)
  private mask = 0
  private head = 0
  // Ring positions in use (live entries and holes), and live entries.
  private used = 0
  private live = 0
  // No live entry expires before this (a lower bound).
  private earliest = Infinity
  private readonly hashed = new Int32Array(4)

  constructor(private readonly max: number) {
    this.resize(Math.min(max, INITIAL_ENTRIES), EMPTY)
  }

  /** First use of `key` (true), or a replay (false); throws when full of unexpired entries. */
  claim(key: string, expiry: number, at: number): boolean {
    const hashed = this.hashed
    processKeyWords(key, hashed)
    const h0 = hashed[0] as number
    const h1 = hashed[1] as number
    const h2 = hashed[2] as number
    const h3 = hashed[3] as number
    const slot = this.find(h0, h1, h2, h3)
    if (slot !== -1) {
      const entry = (this.slots[slot * 2] as number) - 1
      if ((this.expiries[entry] as number) > at) return false
      this.remove(slot, entry)
    }
    // Held only while expiry > at: an identifier already expired (or NaN) needs no entry.
    if (!(expiry > at)) return true
    this.dropExpiredHead(at)
    if (this.live >= this.max) {
      if (at >= this.earliest) this.dropExpired(at)
      if (this.live >= this.max) {
        throw new VerifierUnavailableError('The replay store is full of unexpired identifiers', {
          reason: 'replay_store_full',
          retryAfter: 1,
        })
      }
    }
    if (this.used === this.capacity) {
      // The ring is full of entries and holes: grow it while it may, else squeeze the holes out
      // (there is one at least, since live < max).
      const grow = this.capacity < this.max && this.live * 2 >= this.capacity
      this.resize(grow ? Math.min(this.max, this.capacity * 2) : this.capacity, at)
    }
    let entry = this.head + this.used
    if (entry >= this.capacity) entry -= this.capacity
    this.used++
    this.live++
    const w = entry * 4
    this.words[w] = h0
    this.words[w + 1] = h1
    this.words[w + 2] = h2
    this.words[w + 3] = h3
    this.expiries[entry] = expiry
    if (expiry < this.earliest) this.earliest = expiry
    this.place(h0, entry)
    return true
  }

  // The slot holding the entry of this hash, or -1. A slot holds its entry's first hash word
  // beside the entry's index, so that a probe reads the entry only when that word matches.
  private find(h0: number, h1: number, h2: number, h3: number): number {
    const slots = this.slots
    const words = this.words
    const mask = this.mask
    for (let slot = h0 & mask; ; slot = (slot + 1) & mask) {
      const stored = slots[slot * 2] as number
      if (stored === 0) return -1
      if (slots[slot * 2 + 1] === h0) {
        const w = (stored - 1) * 4
        if (words[w + 1] === h1 && words[w + 2] === h2 && words[w + 3] === h3) return slot
      }
    }
  }

  private place(h0: number, entry: number): void {
    const slots = this.slots
    const mask = this.mask
    let slot = h0 & mask
    while (slots[slot * 2] !== 0) slot = (slot + 1) & mask
    slots[slot * 2] = entry + 1
    slots[slot * 2 + 1] = h0
  }

  // The slot of a live entry (it is in the table).
  private slotOf(entry: number): number {
    const slots = this.slots
    const mask = this.mask
    let slot = (this.words[entry * 4] as number) & mask
    while (slots[slot * 2] !== entry + 1) slot = (slot + 1) & mask
    return slot
  }

  // Deletes a live entry: a hole in the ring, and its slot freed by shifting back the entries of
  // the probe chain after it that may move (linear probing's deletion, no tombstone).
  private remove(slot: number, entry: number): void {
    this.expiries[entry] = EMPTY
    this.live--
    const slots = this.slots
    const mask = this.mask
    let hole = slot
    for (let next = (hole + 1) & mask; ; next = (next + 1) & mask) {
      const stored = slots[next * 2] as number
      if (stored === 0) break
      const h0 = slots[next * 2 + 1] as number
      const home = h0 & mask
      // The entry at `next` may fill the hole unless its home lies cyclically in (hole, next].
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next
      if (!stays) {
        slots[hole * 2] = stored
        slots[hole * 2 + 1] = h0
        hole = next
      }
    }
    slots[hole * 2] = 0
  }

  // Drops holes and expired entries from the head of the ring.
  private dropExpiredHead(at: number): void {
    while (this.used > 0) {
      const entry = this.head
      const expiry = this.expiries[entry] as number
      if (expiry !== EMPTY) {
        if (expiry > at) return
        this.remove(this.slotOf(entry), entry)
      }
      this.head = entry + 1 === this.capacity ? 0 : entry + 1
      this.used--
    }
  }

  // Drops every expired entry, wherever it is in the ring.
  private dropExpired(at: number): void {
    let earliest = Infinity
    for (let i = 0, entry = this.head; i < this.used; i++) {
      const expiry = this.expiries[entry] as number
      if (expiry !== EMPTY) {
        if (expiry <= at) this.remove(this.slotOf(entry), entry)
        else if (expiry < earliest) earliest = expiry
      }
      entry = entry + 1 === this.capacity ? 0 : entry + 1
    }
    this.earliest = earliest
    this.dropExpiredHead(at)
  }

  // New arrays of `capacity` entries holding the live, unexpired entries in ring order from 0,
  // and a table rebuilt for them.
  private resize(capacity: number, at: number): void {
    const words = new Int32Array(capacity * 4)
    const expiries = new Float64Array(capacity).fill(EMPTY)
    let size = 1
    while (size < capacity * 2) size *= 2
    const slots = new Int32Array(size * 2)
    const oldWords = this.words
    const oldExpiries = this.expiries
    this.words = words
    this.expiries = expiries
    this.slots = slots
    this.mask = size - 1
    let kept = 0
    let earliest = Infinity
    for (let i = 0, entry = this.head; i < this.used; i++) {
      const expiry = oldExpiries[entry] as number
      if (expiry > at) {
        const from = entry * 4
        const to = kept * 4
        words[to] = oldWords[from] as number
        words[to + 1] = oldWords[from + 1] as number
        words[to + 2] = oldWords[from + 2] as number
        words[to + 3] = oldWords[from + 3] as number
        expiries[kept] = expiry
        if (expiry < earliest) earliest = expiry
        this.place(oldWords[entry * 4] as number, kept)
        kept++
      }
      entry = entry + 1 === this.capacity ? 0 : entry + 1
    }
    this.capacity = capacity
    this.head = 0
    this.used = kept
    this.live = kept
    this.earliest = earliest
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
