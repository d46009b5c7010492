import t from 'tap'
import {
  createMemoryReplayStore,
  createMemorySessionStore,
  guardReplayStore,
  guardSessionStore,
  isPrincipalComponents,
  type ReplayStore,
  type SessionStore,
} from '../src/index.js'

t.test('memory replay store: once until expiry, bounded, fails closed when full', async (t) => {
  let clock = 1_000_000
  const store = createMemoryReplayStore({ max: 2, now: () => clock })
  t.equal(store.markUsed('a', 1_010), true)
  t.equal(store.markUsed('a', 1_010), false)
  t.equal(store.markUsed('b', 1_005), true)
  t.throws(() => store.markUsed('c', 1_020), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'replay_store_full',
  })
  clock = 1_005_000 // b expires exactly now: its slot is free, and b may be used again
  t.equal(store.markUsed('c', 1_020), true)
  t.equal(store.markUsed('a', 1_010), false, 'a is still held')
  clock = 1_010_000
  t.equal(store.markUsed('a', 1_030), true, 'a after its expiry is a new identifier')
  t.throws(() => createMemoryReplayStore({ max: 0 }), { message: /^options\.max / })
  t.throws(() => createMemoryReplayStore({ now: 5 as never }), { message: /^options\.now / })
  t.equal(createMemoryReplayStore().markUsed('x', Date.now() / 1000 + 1), true)
})

t.test('guarded replay store: only a boolean is an answer', async (t) => {
  t.throws(() => guardReplayStore({} as ReplayStore), { message: /^replayStore / })
  t.throws(() => guardReplayStore(createMemoryReplayStore(), { timeout: -1 }), {
    message: /^options\.timeout /,
  })
  for (const answer of ['OK', 1, null, undefined, {}, Promise.resolve('true')]) {
    const store = guardReplayStore({ markUsed: () => answer as never })
    await t.rejects(store.markUsed('k', 1), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'store_invalid_answer',
    })
  }
  const hanging = guardReplayStore(
    { markUsed: () => new Promise(() => undefined) },
    { timeout: 20 },
  )
  await t.rejects(hanging.markUsed('k', 1), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'store_timeout',
    statusCode: 503,
  })
  let seen: AbortSignal | undefined
  const good = guardReplayStore({
    markUsed: (_key, _exp, options) => {
      seen = options?.signal
      return Promise.resolve(true)
    },
  })
  t.equal(await good.markUsed('k', 1), true)
  t.ok(seen instanceof AbortSignal, 'the store gets a signal')
  const controller = new AbortController()
  controller.abort(new Error('gone'))
  await t.rejects(good.markUsed('k', 1, { signal: controller.signal }), /gone/)
})

t.test('guarded replay store: concurrent claims, exactly one wins', async (t) => {
  const store = guardReplayStore(createMemoryReplayStore())
  const answers = await Promise.all(Array.from({ length: 20 }, () => store.markUsed('same', 2e9)))
  t.equal(answers.filter(Boolean).length, 1)
})

t.test('memory session store: ttl, touch, delete, bound with eviction', async (t) => {
  let clock = 0
  const evicted: string[] = []
  const store = createMemorySessionStore({
    max: 2,
    now: () => clock,
    onEvict: (id) => evicted.push(id),
  })
  store.set('s1', ['c', 'i', 'alice'], 1_000)
  store.set('s2', ['c', null, null], 1_000)
  t.same(store.get('s1'), ['c', 'i', 'alice'])
  t.equal(store.get('nope'), null)
  clock = 999
  t.equal(store.touch('s1', 1_000), true)
  clock = 1_000
  t.equal(store.get('s2'), null, 'expired exactly at its ttl')
  t.equal(store.touch('s2', 1_000), false)
  t.same(store.get('s1'), ['c', 'i', 'alice'], 'touched: still there')
  store.set('s3', ['c', 'i', 'bob'], 1_000)
  store.set('s4', ['c', 'i', 'carol'], 1_000)
  t.same(evicted, ['s1'], 'the oldest binding goes first')
  t.equal(store.delete('s3'), true)
  t.equal(store.delete('s3'), false)
  clock = 5_000
  t.equal(store.delete('s4'), false, 'an expired binding is not deleted: it was gone')
  const principal = ['c', 'i', 's'] as const
  const mutable = [...principal] as unknown as [string, string, string]
  store.set('s5', mutable, 1_000)
  mutable[2] = 'mallory'
  t.same(store.get('s5'), principal, 'the store keeps its own copy')
  t.throws(() => createMemorySessionStore({ max: 0 }), { message: /^options\.max / })
  t.throws(() => createMemorySessionStore({ onEvict: 1 as never }), {
    message: /^options\.onEvict /,
  })
  t.throws(() => createMemorySessionStore({ now: 1 as never }), { message: /^options\.now / })
  const defaults = createMemorySessionStore()
  defaults.set('x', ['c', null, null], 1_000)
  t.same(defaults.get('x'), ['c', null, null])
})

t.test('guarded session store: wrong answers and failures are 503s', async (t) => {
  t.throws(() => guardSessionStore({ get: () => null } as never), { message: /^sessionStore / })
  const base = createMemorySessionStore()
  const store = guardSessionStore(base)
  await store.set('s', ['c', 'i', 'alice'], 1_000)
  t.same(await store.get('s'), ['c', 'i', 'alice'])
  t.equal(await store.touch('s', 1_000), true)
  t.equal(await store.delete('s'), true)
  t.equal(await store.get('s'), null)
  await t.rejects(store.get(''), { code: 'ERR_INVALID_ARG_VALUE', message: /^sessionId / })
  await t.rejects(store.set('s', ['c', 'i', 'a'], 0), { message: /^ttl / })
  await t.rejects(store.touch('s', NaN), { message: /^ttl / })
  await t.rejects(store.delete(5 as never), { message: /^sessionId / })
  await t.rejects(store.set('s', ['', null, null], 1), { message: /^principal / })
  const answering = (answer: unknown): SessionStore => ({
    set: () => undefined,
    get: () => answer as never,
    touch: () => answer as never,
    delete: () => answer as never,
  })
  for (const answer of [['c', 'i'], ['c', 1, null], ['', null, null], 'c', {}, undefined, 0]) {
    await t.rejects(guardSessionStore(answering(answer)).get('s'), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'store_invalid_answer',
      statusCode: 503,
    })
  }
  for (const answer of [1, 'true', null, undefined]) {
    await t.rejects(guardSessionStore(answering(answer)).touch('s', 1), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'store_invalid_answer',
    })
    await t.rejects(guardSessionStore(answering(answer)).delete('s'), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'store_invalid_answer',
    })
  }
  const failing = guardSessionStore(
    {
      set: () => Promise.reject(new Error('down')),
      get: () => new Promise(() => undefined),
      touch: () => {
        throw new Error('down')
      },
      delete: () => Promise.reject(new Error('down')),
    },
    { timeout: 20 },
  )
  await t.rejects(failing.set('s', ['c', null, null], 1), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'store_error',
  })
  await t.rejects(failing.get('s'), { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'store_timeout' })
  await t.rejects(failing.touch('s', 1), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'store_error',
  })
  await t.rejects(failing.delete('s'), { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'store_error' })
})

t.test('isPrincipalComponents', async (t) => {
  t.equal(isPrincipalComponents(['c', null, null]), true)
  t.equal(isPrincipalComponents(['c', 'i', 's']), true)
  for (const bad of [
    ['c', null],
    ['', null, null],
    [1, null, null],
    ['c', 1, null],
    ['c', null, 2],
    null,
    'c',
  ]) {
    t.equal(isPrincipalComponents(bad), false, JSON.stringify(bad))
  }
})
