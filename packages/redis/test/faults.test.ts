import { randomUUID } from 'node:crypto'
import diagnostics from 'node:diagnostics_channel'
import { Redis } from 'ioredis'
import t from 'tap'
import {
  STORE_CHANNEL,
  guardReplayStore,
  guardSessionStore,
  guardSharedCache,
  loadThroughSharedCache,
  revokeSubject,
  type AccessToken,
  type StoreEvent,
} from '@bearerkit/core'
import { createRedisStores, type RedisStores } from '../src/index.js'
import { testRedis } from './fixtures/redis-server.js'

const alice: AccessToken = Object.freeze({
  token: 'x',
  clientId: 'app',
  scopes: [],
  subject: 'alice',
  issuer: 'https://as',
  claims: { iat: 1 },
})

const waitUntil = async (check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const events: StoreEvent[] = []
const listen = (event: unknown): void => {
  events.push(event as StoreEvent)
}
diagnostics.subscribe(STORE_CHANNEL, listen)
t.teardown(() => diagnostics.unsubscribe(STORE_CHANNEL, listen))

t.test('Redis killed, then restarted: fail closed, keep the copy, recover alone', async (t) => {
  const redis = await testRedis(t)
  if (redis === undefined || !redis.own) return
  let clock = Date.now()
  const stores: RedisStores = createRedisStores({
    url: redis.url,
    prefix: `k-${randomUUID().slice(0, 6)}`,
    now: () => clock,
    revocations: { syncInterval: 50, maxStaleness: 5_000 },
  })
  t.teardown(() => stores.close())
  await stores.ready()
  const replay = guardReplayStore(stores.replay)
  const sessions = guardSessionStore(stores.sessions)
  const cache = guardSharedCache(stores.cache)
  await sessions.set('s1', ['app', 'https://as', 'alice'], 60_000)
  await revokeSubject(stores.revocations, { issuer: 'https://as', subject: 'alice' })
  events.length = 0

  await redis.kill()
  let started = Date.now()
  await t.rejects(replay.markUsed('jti-a', clock / 1000 + 60), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    statusCode: 503,
    headers: { 'retry-after': '1' },
  })
  await t.rejects(sessions.get('s1'), { code: 'ERR_VERIFIER_UNAVAILABLE' })
  t.ok(Date.now() - started < 1_000, 'no unbounded queue: answers come at once')
  t.equal(await cache.get('k'), undefined, 'the cache degrades to a miss')
  let loads = 0
  const loaded = await loadThroughSharedCache(cache, 'k', async () => {
    loads++
    return { value: { active: true }, ttl: 1_000 }
  })
  t.same(loaded, { value: { active: true }, source: 'loaded' })
  t.equal(loads, 1)
  // The revocation copy keeps serving within maxStaleness ...
  t.equal(stores.revocations.isRevoked(alice), true)
  t.equal(stores.revocations.isRevoked({ ...alice, subject: 'bob' }), false)
  // ... and fails closed after it.
  clock += 5_001
  t.throws(() => stores.revocations.isRevoked({ ...alice, subject: 'bob' }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'store_stale',
  })
  t.ok(events.some((e) => e.store === 'replay' && e.event === 'degraded'))
  t.ok(events.some((e) => e.store === 'session' && e.event === 'degraded'))
  t.ok(events.some((e) => e.store === 'revocation' && e.event === 'degraded'))
  t.notOk(JSON.stringify(events).includes('jti-a'), 'no identifier in any event')

  started = Date.now()
  await redis.restart()
  // No restart of the stores: the reconnect and the periodic sync bring them back.
  await waitUntil(() => stores.revocations.fresh === true)
  await waitUntil(async () => {
    try {
      return await replay.markUsed(`probe-${Date.now()}`, clock / 1000 + 60)
    } catch {
      return false
    }
  })
  t.equal(await replay.markUsed('jti-a', clock / 1000 + 60), true)
  t.equal(await replay.markUsed('jti-a', clock / 1000 + 60), false)
  t.equal(
    stores.revocations.isRevoked(alice),
    true,
    'a Redis that lost its data does not undo a revocation this instance holds',
  )
  t.ok(events.some((e) => e.store === 'replay' && e.event === 'recovered'))
  t.ok(events.some((e) => e.store === 'revocation' && e.event === 'recovered'))
  t.comment(`recovered ${Date.now() - started} ms after the restart began`)
})

t.test('Redis paused or sleeping: every call ends at its deadline', async (t) => {
  const redis = await testRedis(t)
  if (redis === undefined || !redis.own) return
  // A user client with ioredis defaults (offline queue on, 20 retries): our deadline still holds.
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  const stores = createRedisStores({
    redis: client,
    prefix: `p-${randomUUID().slice(0, 6)}`,
    timeout: 80,
  })
  t.teardown(() => stores.close())
  await stores.ready()
  const replay = guardReplayStore(stores.replay, { timeout: 1_000 })
  const cache = guardSharedCache(stores.cache, { timeout: 1_000 })

  redis.cli('client', 'pause', '400', 'all')
  let started = Date.now()
  await t.rejects(replay.markUsed('p1', Date.now() / 1000 + 60), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'store_timeout',
  })
  let took = Date.now() - started
  t.ok(took >= 70 && took < 300, `paused: ${took} ms`)
  t.equal(await cache.get('x'), undefined)
  await new Promise((resolve) => setTimeout(resolve, 400))

  // DEBUG SLEEP blocks the whole server. It goes out on the stores' own connection, right before
  // their GET: Redis runs a connection's commands in order, so the GET is sure to wait behind the
  // sleep. (Sent from a fresh connection 20 ms earlier, it lost the race on a busy machine: that
  // connection had not finished its ready check, the GET was answered at once, and the test
  // failed without anything being wrong with the deadline.)
  const sleeping = client.call('debug', 'sleep', '0.4').catch(() => undefined)
  started = Date.now()
  await t.rejects(Promise.resolve(stores.sessions.get('s')), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'store_timeout',
  })
  took = Date.now() - started
  t.ok(took < 300, `sleeping: ${took} ms`)
  await sleeping
  await waitUntil(async () => {
    try {
      return (await stores.sessions.get('s')) === null
    } catch {
      return false
    }
  })
  t.pass('answers again once Redis does')
})

t.test('a revocation made while another instance is cut off reaches it on reconnect', async (t) => {
  const redis = await testRedis(t)
  if (redis === undefined || !redis.own) return
  const prefix = `r-${randomUUID().slice(0, 6)}`
  const open = async (): Promise<RedisStores> => {
    const stores = createRedisStores({
      url: redis.url,
      prefix,
      revocations: { syncInterval: 50, maxStaleness: 10_000 },
    })
    t.teardown(() => stores.close())
    await stores.ready()
    return stores
  }
  const a = await open()
  const b = await open()
  // Cut b's connections (both of them) from the server side: it reconnects by itself.
  const admin = new Redis(redis.url)
  t.teardown(() => admin.disconnect())
  await admin.client('SETNAME', 'admin')
  const list = String(await admin.client('LIST'))
  const ids = list
    .split('\n')
    .filter((line) => line.length > 0 && !line.includes('name=admin'))
    .map((line) => /id=(\d+)/.exec(line)?.[1])
  // Kill every other connection: both instances drop and come back.
  for (const id of ids) if (id !== undefined) await admin.client('KILL', 'ID', id)
  await revokeSubject(a.revocations, { issuer: 'https://as', subject: 'alice' }).catch(
    () => undefined,
  )
  await waitUntil(async () => {
    if (a.revocations.isRevoked(alice) === true) return true
    await revokeSubject(a.revocations, { issuer: 'https://as', subject: 'alice' }).catch(
      () => undefined,
    )
    return false
  })
  await waitUntil(() => b.revocations.isRevoked(alice) === true)
  t.pass('b learnt the revocation after reconnecting')
})
