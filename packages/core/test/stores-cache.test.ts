import diagnostics from 'node:diagnostics_channel'
import t from 'tap'
import {
  STORE_CHANNEL,
  createMemorySharedCache,
  guardSharedCache,
  loadThroughSharedCache,
  type SharedCacheValue,
  type SharedResultCache,
  type StoreEvent,
} from '../src/index.js'

t.test('memory shared cache: ttl and bound', async (t) => {
  let clock = 0
  const cache = createMemorySharedCache({ max: 2, now: () => clock })
  cache.set('a', { active: true }, 100)
  t.same(cache.get('a'), { active: true })
  clock = 100
  t.equal(cache.get('a'), undefined, 'dead exactly at its ttl')
  cache.set('a', { n: 1 }, 1_000)
  cache.set('b', { n: 2 }, 1_000)
  cache.set('c', { n: 3 }, 1_000)
  t.equal(cache.get('a'), undefined, 'least recently used goes first')
  cache.delete('b')
  t.equal(cache.get('b'), undefined)
  t.throws(() => createMemorySharedCache({ max: 0 }), { message: /^options\.max / })
  t.throws(() => createMemorySharedCache({ now: 'x' as never }), { message: /^options\.now / })
  const defaults = createMemorySharedCache()
  defaults.set('k', { v: 1 }, 1_000)
  t.same(defaults.get('k'), { v: 1 })
})

t.test('guarded shared cache: any failure is a miss, published, never a throw', async (t) => {
  const events: StoreEvent[] = []
  const listen = (event: unknown): void => {
    events.push(event as StoreEvent)
  }
  diagnostics.subscribe(STORE_CHANNEL, listen)
  t.teardown(() => diagnostics.unsubscribe(STORE_CHANNEL, listen))
  t.throws(() => guardSharedCache({ get: () => undefined } as never), { message: /^sharedCache / })
  const broken: SharedResultCache = {
    get: () => Promise.reject(new Error('down')),
    set: () => new Promise(() => undefined),
    delete: () => {
      throw new Error('down')
    },
    lock: () => Promise.reject(new Error('down')),
    unlock: () => Promise.reject(new Error('down')),
    wait: () => new Promise(() => undefined),
  }
  const guarded = guardSharedCache(broken, { timeout: 20 })
  t.equal(guarded.coalesces, true)
  t.equal(await guarded.get('k'), undefined)
  t.equal(await guarded.set('k', { a: 1 }, 10), undefined)
  t.equal(await guarded.delete('k'), undefined)
  t.equal(await guarded.lock('k', 10), undefined, 'cannot tell: the caller loads itself')
  t.equal(await guarded.unlock('k'), undefined)
  t.equal(await guarded.wait('k', 10), undefined)
  t.equal(events.length, 6)
  events.length = 0
  for (const answer of ['text', 1, [1], null, true, Promise.resolve(5)]) {
    const cache = guardSharedCache({
      get: () => answer as never,
      set: () => undefined,
      delete: () => undefined,
      lock: () => answer as never,
      unlock: () => undefined,
      wait: () => answer as never,
    })
    t.equal(await cache.get('k'), undefined, `get ${JSON.stringify(answer) ?? 'undefined'}`)
    t.equal(await cache.wait('k', 10), undefined)
    if (typeof answer !== 'boolean') t.equal(await cache.lock('k', 10), undefined)
  }
  t.ok(events.every((e) => e.reason === 'store_invalid_answer' && e.store === 'cache'))
  // The caller's own abort still rejects: the request is gone.
  const controller = new AbortController()
  controller.abort(new Error('gone'))
  await t.rejects(guarded.get('k', { signal: controller.signal }), /gone/)
})

t.test('guarded shared cache without lock: never coalesces', async (t) => {
  const guarded = guardSharedCache(createMemorySharedCache())
  t.equal(guarded.coalesces, false)
  t.equal(await guarded.lock('k', 10), undefined)
  t.equal(await guarded.unlock('k'), undefined)
  t.equal(await guarded.wait('k', 10), undefined)
  await guarded.set('k', { a: 1 }, 1_000)
  t.same(await guarded.get('k'), { a: 1 })
  await guarded.delete('k')
  t.equal(await guarded.get('k'), undefined)
})

// A fleet of caches over one map, with a lock and wake-ups, to drive loadThroughSharedCache.
const fleetCache = (): SharedResultCache & { locks: Set<string> } => {
  const values = new Map<string, SharedCacheValue>()
  const locks = new Set<string>()
  const waiting = new Map<string, (() => void)[]>()
  const wake = (key: string): void => {
    for (const resolve of waiting.get(key) ?? []) resolve()
    waiting.delete(key)
  }
  return {
    locks,
    get: (key) => values.get(key),
    set: (key, value) => {
      values.set(key, value)
    },
    delete: (key) => {
      values.delete(key)
    },
    lock: (key) => {
      if (locks.has(key)) return false
      locks.add(key)
      return true
    },
    unlock: (key) => {
      locks.delete(key)
      wake(key)
    },
    wait: (key, timeout) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve(values.get(key)), timeout)
        waiting.set(key, [
          ...(waiting.get(key) ?? []),
          () => {
            clearTimeout(timer)
            resolve(values.get(key))
          },
        ])
      }),
  }
}

t.test('loadThroughSharedCache: hit, one load for many, waiters get the value', async (t) => {
  const shared = guardSharedCache(fleetCache(), { timeout: 1_000 })
  let loads = 0
  const loader = async () => {
    loads++
    await new Promise((resolve) => setTimeout(resolve, 20))
    return { value: { active: true }, ttl: 1_000 }
  }
  const results = await Promise.all(
    Array.from({ length: 10 }, () => loadThroughSharedCache(shared, 'k', loader)),
  )
  t.equal(loads, 1)
  t.equal(results.filter((r) => r.source === 'loaded').length, 1)
  t.equal(results.filter((r) => r.source === 'waited').length, 9)
  t.same(await loadThroughSharedCache(shared, 'k', loader), {
    value: { active: true },
    source: 'hit',
  })
})

t.test(
  'loadThroughSharedCache: nothing shared for ttl 0; a failed load releases the lock',
  async (t) => {
    const cache = fleetCache()
    const shared = guardSharedCache(cache, { timeout: 1_000 })
    let loads = 0
    const uncacheable = async () => {
      loads++
      return { value: { active: false }, ttl: 0 }
    }
    await loadThroughSharedCache(shared, 'n', uncacheable)
    await loadThroughSharedCache(shared, 'n', uncacheable)
    t.equal(loads, 2)
    await t.rejects(
      loadThroughSharedCache(shared, 'f', () => Promise.reject(new Error('upstream down'))),
      /upstream down/,
    )
    t.equal(cache.locks.size, 0)
    // A waiter whose holder failed loads itself instead of waiting again.
    cache.locks.add('w')
    const waiter = loadThroughSharedCache(shared, 'w', async () => ({ value: { me: 1 }, ttl: 0 }), {
      lockTtl: 30,
    })
    t.same(await waiter, { value: { me: 1 }, source: 'loaded' })
    await t.rejects(loadThroughSharedCache(shared, 'x', uncacheable, { lockTtl: 0 }), {
      message: /^options\.lockTtl /,
    })
    // A cache that cannot be reached at all: the loader runs.
    const down = guardSharedCache(
      { get: () => Promise.reject(new Error('x')), set: () => undefined, delete: () => undefined },
      { timeout: 10 },
    )
    t.same(await loadThroughSharedCache(down, 'k', async () => ({ value: { a: 1 }, ttl: 10 })), {
      value: { a: 1 },
      source: 'loaded',
    })
    const controller = new AbortController()
    t.same(
      await loadThroughSharedCache(shared, 'k2', async () => ({ value: { a: 2 }, ttl: 10 }), {
        signal: controller.signal,
      }),
      { value: { a: 2 }, source: 'loaded' },
    )
  },
)
