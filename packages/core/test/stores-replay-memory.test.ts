// The memory replay store's edges: exact expiry milliseconds, a full store, the ring of insertion
// order wrapping around, holes left by deletions, out-of-order expiries, growth, and a model it
// must agree with on every answer.
import t from 'tap'
import { createMemoryReplayStore, type ReplayStore } from '../src/index.js'
import { processKeyWords, processTokenKey } from '../src/token-key.js'
import type * as ReplayModule from '../src/stores/replay-store.js'

const mark = (store: ReplayStore, key: string, expiresAt: number): boolean =>
  store.markUsed(key, expiresAt) as boolean

const FULL = { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'replay_store_full', retryAfter: 1 }

t.test('held until the exact millisecond of its expiry, then a new identifier', async (t) => {
  let clock = 10_000_000
  const store = createMemoryReplayStore({ now: () => clock })
  t.equal(mark(store, 'k', 10_010), true)
  clock = 10_009_999
  t.equal(mark(store, 'k', 10_020), false, 'one millisecond before expiry: a replay')
  clock = 10_010_000
  t.equal(mark(store, 'k', 10_020), true, 'at expiry: new again, held until 10,020')
  clock = 10_019_999
  t.equal(mark(store, 'k', 10_030), false)
  // Fractional seconds keep their milliseconds.
  t.equal(mark(store, 'f', 10_019.9995), true)
  t.equal(mark(store, 'f', 0), false, '0.5 ms left')
  clock = 10_020_000
  t.equal(mark(store, 'f', 0), true)
  // Already expired: answered as a first use and never held.
  t.equal(mark(store, 'past', 10_019), true)
  t.equal(mark(store, 'past', 10_019), true)
  // An expiry that is not a number cannot be held: no answer (503), never a first use.
  for (const expiry of [Number.NaN, '10' as unknown as number, undefined as unknown as number]) {
    t.throws(() => mark(store, 'nan', expiry), {
      name: 'VerifierUnavailableError',
      reason: 'replay_store_clock',
    })
  }
  // Never expiring.
  t.equal(mark(store, 'forever', Infinity), true)
  clock = Number.MAX_SAFE_INTEGER
  t.equal(mark(store, 'forever', Infinity), false)
})

t.test('full of unexpired identifiers: refuses, never forgets one', async (t) => {
  let clock = 0
  const store = createMemoryReplayStore({ max: 3, now: () => clock })
  t.equal(mark(store, 'a', 10), true)
  t.equal(mark(store, 'b', 5), true)
  t.equal(mark(store, 'c', 20), true)
  // Already-expired identifiers need no room.
  t.equal(mark(store, 'gone', 0), true)
  for (let i = 0; i < 3; i++) t.throws(() => mark(store, `d${i}`, 30), FULL)
  t.equal(mark(store, 'a', 10), false, 'a replay is still answered when full')
  clock = 4_999
  t.throws(() => mark(store, 'd', 30), FULL)
  clock = 5_000 // b expires (out of insertion order: a, b, c)
  t.equal(mark(store, 'd', 30), true)
  t.throws(() => mark(store, 'e', 30), FULL)
  for (const key of ['a', 'c', 'd']) t.equal(mark(store, key, 40), false, key)
  t.throws(() => mark(store, 'b', 40), FULL, 'b expired: a new identifier, and no room for it')
  clock = 10_000
  t.equal(mark(store, 'e', 40), true, 'a expired: room for e')
  t.throws(() => mark(store, 'f', 40), FULL)
  clock = 40_000
  for (const key of ['f', 'g', 'h']) t.equal(mark(store, key, 50), true)
  t.throws(() => mark(store, 'i', 50), FULL)
  t.throws(() => mark(store, 'c', 50), FULL, 'c expired at 20 s: new, and no room for it')
  t.equal(mark(store, 'h', 60), false)
})

t.test('the ring wraps around many times; every held identifier stays held', async (t) => {
  let clock = 0
  const store = createMemoryReplayStore({ max: 7, now: () => clock })
  // 7 identifiers live at any time, each for 7 s: 10,000 claims through a ring of 7 entries.
  for (let i = 0; i < 10_000; i++) {
    clock = i * 1000
    if (!mark(store, `k${i}`, i + 7)) t.fail(`k${i} refused`)
    if (i >= 6 && mark(store, `k${i - 6}`, 1)) t.fail(`k${i - 6} forgotten`)
    // k(i-7) expired at i exactly: new again (and, already expired, not held).
    if (i >= 7 && !mark(store, `k${i - 7}`, 0)) t.fail(`k${i - 7} kept`)
  }
  t.pass('10,000 claims')
})

t.test('holes in the middle of the ring: re-claims, out-of-order expiries', async (t) => {
  let clock = 0
  const max = 64
  const store = createMemoryReplayStore({ max, now: () => clock })
  // Odd identifiers expire at 1 s, even ones at 100 s, interleaved in insertion order.
  for (let i = 0; i < max; i++) t.equal(mark(store, `k${i}`, i % 2 === 1 ? 1 : 100), true)
  t.throws(() => mark(store, 'x', 100), FULL)
  clock = 1_000
  // The head (k0) has not expired: only a scan finds the 32 odd ones.
  for (let i = 0; i < 32; i++) t.equal(mark(store, `n${i}`, 100), true, `n${i}`)
  t.throws(() => mark(store, 'x', 100), FULL)
  for (let i = 0; i < max; i += 2) t.equal(mark(store, `k${i}`, 100), false, `k${i} held`)
  for (let i = 0; i < 32; i++) t.equal(mark(store, `n${i}`, 100), false, `n${i} held`)
  clock = 100_000
  // Expiries in reverse order of insertion: the head goes last.
  for (let i = 0; i < max; i++) t.equal(mark(store, `k${i}`, 200 + max - 1 - i), true)
  t.throws(() => mark(store, 'x', 300), FULL)
  for (let i = 0; i < max; i++) {
    clock = (200 + i) * 1000
    t.equal(mark(store, `r${i}`, 1_000), true, `r${i}`)
    t.throws(() => mark(store, 'x', 300), FULL)
  }
  for (let i = 0; i < max; i++) t.equal(mark(store, `r${i}`, 1_000), false, `r${i} held`)
  t.throws(() => mark(store, 'k0', 1_000), FULL, 'k0 expired: new, and no room for it')
})

t.test('many deletions: every survivor still found (no lost probe chains)', async (t) => {
  let clock = 0
  const count = 20_000
  const store = createMemoryReplayStore({ max: count, now: () => clock })
  // Expiries in a scrambled order so that deletions hit every position of the probe chains.
  const expiry = (i: number) => 1 + ((i * 7919) % count) / 1000
  for (let i = 0; i < count; i++) if (!mark(store, `id-${i}`, expiry(i))) t.fail(`id-${i}`)
  t.throws(() => mark(store, 'one more', 1_000), FULL)
  clock = 1_000 + count / 2 - 0.5 // half have expired
  let held = 0
  let fresh = 0
  for (let i = 0; i < count; i++) {
    const expired = expiry(i) * 1000 <= clock
    const answer = mark(store, `id-${i}`, 10_000)
    if (answer !== expired) t.fail(`id-${i}: ${String(answer)}`)
    if (answer) fresh++
    else held++
  }
  t.equal(held, count / 2)
  t.equal(fresh, count / 2)
  t.throws(() => mark(store, 'one more', 10_000), FULL)
})

t.test('agrees with a plain map of identifiers on every answer', async (t) => {
  // The model: what the store documents, written the obvious way.
  const model = (max: number, now: () => number): ReplayStore => {
    const used = new Map<string, number>()
    return {
      markUsed(key, expiresAt) {
        const at = now()
        const seen = used.get(key)
        if (seen !== undefined && seen > at) return false
        used.delete(key)
        if (!(expiresAt * 1000 > at)) return true
        for (const [k, until] of used) if (until <= at) used.delete(k)
        if (used.size >= max) throw new Error('full')
        used.set(key, expiresAt * 1000)
        return true
      },
    }
  }
  let seed = 12345
  const random = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return (seed >>> 8) % n
  }
  for (let round = 0; round < 40; round++) {
    let clock = 1_000_000
    const max = 1 + random(40)
    const keys = 1 + random(120)
    const store = createMemoryReplayStore({ max, now: () => clock })
    const reference = model(max, () => clock)
    for (let op = 0; op < 3_000; op++) {
      clock += random(4) === 0 ? random(3_000) : 0
      const key = `key-${random(keys)}`
      const expiresAt = clock / 1000 + random(40) / 10 - 0.5
      const ours = outcome(() => mark(store, key, expiresAt))
      const theirs = outcome(() => reference.markUsed(key, expiresAt) as boolean)
      if (ours !== theirs) {
        t.fail(`round ${round} op ${op}: ${ours} against ${theirs}`)
        return
      }
    }
  }
  t.pass('40 rounds of 3,000 operations')
})

function outcome(run: () => boolean): string {
  try {
    return String(run())
  } catch (error) {
    const { reason, message } = error as { reason?: string; message?: string }
    return reason === 'replay_store_full' || message === 'full' ? 'full' : `error ${message}`
  }
}

t.test('two identifiers with the same hash: the second is a replay', async (t) => {
  const { createMemoryReplayStore: create } = await t.mockImport<typeof ReplayModule>(
    '../src/stores/replay-store.js',
    {
      '../src/token-key.js': {
        processKeyWords: (_key: string, out: Int32Array) => out.fill(7),
      },
    },
  )
  const store = create({ now: () => 0 })
  t.equal(store.markUsed('one', 10), true)
  t.equal(store.markUsed('another', 10), false, 'refused, never accepted')
})

t.test('processKeyWords: the words of processTokenKey, allocation-free, distinct', async (t) => {
  const out = new Int32Array(4)
  for (const key of ['', 'a', 'dpop abc jti-1', 'x'.repeat(16), 'x'.repeat(17), 'y'.repeat(4096)]) {
    processKeyWords(key, out)
    const expected = processTokenKey(key)
    const units = [...out].flatMap((word) => [word & 0xffff, word >>> 16])
    t.equal(String.fromCharCode(...units), expected, `${key.slice(0, 20)} (${key.length})`)
  }
  // Other keys (not ASCII, or longer than 4096 characters) take the keyed SHA-256: still stable
  // and distinct, also from an ASCII key of the same bytes.
  const words = (key: string) => {
    processKeyWords(key, out)
    return [...out].join(',')
  }
  const others = ['é', 'Ã©', '\uD800', '\uFFFD', '\u4241', 'AB', 'z'.repeat(4097), 'z'.repeat(4098)]
  t.equal(new Set(others.map(words)).size, others.length)
  t.equal(words('é'), words('é'))
  t.equal(words('z'.repeat(4097)), words('z'.repeat(4097)))
})

t.test('a clock that gives no number: no answer (503), never a first use', async (t) => {
  let clock = Number.NaN
  const store = createMemoryReplayStore({ now: () => clock })
  for (const reading of [Number.NaN, Infinity, -Infinity]) {
    clock = reading
    t.throws(() => mark(store, 'jti', 100), {
      name: 'VerifierUnavailableError',
      reason: 'replay_store_clock',
    })
  }
  clock = 1_000
  t.equal(mark(store, 'jti', 100), true, 'nothing was held meanwhile')
  t.equal(mark(store, 'jti', 100), false)
})
