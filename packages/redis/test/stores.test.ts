import { randomUUID } from 'node:crypto'
import diagnostics from 'node:diagnostics_channel'
import { Redis } from 'ioredis'
import t from 'tap'
import {
  STORE_CHANNEL,
  createStoresFromEnv,
  guardReplayStore,
  guardSessionStore,
  guardSharedCache,
  loadThroughSharedCache,
  revokeClient,
  revokeSubject,
  revokeToken,
  type AccessToken,
  type StoreEvent,
} from '@bearerkit/core'
import {
  createRedisStores,
  redisStoresOptionsFromEnv,
  revokeInRedis,
  type RedisStores,
} from '../src/index.js'
import { testRedis } from './fixtures/redis-server.js'

const redis = await testRedis(t)

const token = (fields: Partial<AccessToken> & { claims?: Record<string, unknown> }): AccessToken =>
  Object.freeze({ token: 'not-stored', clientId: 'app', scopes: [], claims: {}, ...fields })

if (redis !== undefined) {
  const admin = new Redis(redis.url)
  t.teardown(() => admin.disconnect())

  const open = async (
    prefix: string,
    extra: Partial<Parameters<typeof createRedisStores>[0]> = {},
  ): Promise<RedisStores> => {
    const stores = createRedisStores({ url: redis.url, prefix, ...extra })
    t.teardown(() => stores.close())
    await stores.ready()
    return stores
  }
  const freshPrefix = () => `t-${randomUUID().slice(0, 8)}`

  t.test('replay: one claim wins among many concurrent ones, across instances', async (t) => {
    const prefix = freshPrefix()
    const a = await open(prefix)
    const b = await open(prefix)
    const exp = Math.floor(Date.now() / 1000) + 60
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        Promise.resolve((i % 2 === 0 ? a : b).replay.markUsed('https://idp.example jti-1', exp)),
      ),
    )
    t.equal(answers.filter((answer) => answer === true).length, 1)
    t.equal(await b.replay.markUsed('https://idp.example jti-2', exp), true)
    // Keys: prefixed, hashed (no identifier in the clear), with a TTL to the identifier's expiry.
    const keys = await admin.keys(`${prefix}:*`)
    t.equal(keys.length, 2)
    for (const key of keys) {
      t.match(key, new RegExp(`^${prefix}:r:\\{[A-Za-z0-9_-]{43}\\}$`))
      t.notMatch(key, /jti|idp/)
      const ttl = await admin.pttl(key)
      t.ok(ttl > 55_000 && ttl <= 60_000, `ttl ${ttl}`)
      t.equal(await admin.get(key), 'v1')
    }
  })

  t.test('replay: an identifier at the edge of its life is still held', async (t) => {
    const stores = await open(freshPrefix())
    const past = Math.floor(Date.now() / 1000) - 5
    t.equal(await stores.replay.markUsed('old', past), true)
    t.equal(await stores.replay.markUsed('old', past), false)
  })

  t.test('sessions: set, get on another instance, touch, delete', async (t) => {
    const prefix = freshPrefix()
    const a = await open(prefix)
    const b = await open(prefix)
    const owner = ['client', 'https://as.example', 'alice'] as const
    await a.sessions.set('session-secret-1', owner, 60_000)
    t.same(await b.sessions.get('session-secret-1'), owner)
    await a.sessions.set('s2', ['client', null, null], 60_000)
    t.same(await b.sessions.get('s2'), ['client', null, null])
    t.equal(await b.sessions.get('unknown'), null)
    const [key] = (await admin.keys(`${prefix}:s:*`)).sort()
    t.notMatch(String(key), /session-secret/)
    t.equal(await b.sessions.touch('session-secret-1', 120_000), true)
    t.equal(await b.sessions.touch('unknown', 120_000), false)
    t.equal(await a.sessions.delete('session-secret-1'), true)
    t.equal(await a.sessions.delete('session-secret-1'), false)
    t.equal(await b.sessions.get('session-secret-1'), null)
    t.ok((await admin.pttl(String(key))) > 0, 'every key has a TTL')
  })

  t.test('sessions: an unreadable value is a 503, never a 404 or a guess', async (t) => {
    const prefix = freshPrefix()
    const stores = await open(prefix)
    const guarded = guardSessionStore(stores.sessions)
    await stores.sessions.set('s', ['client', null, 'alice'], 60_000)
    const [key] = await admin.keys(`${prefix}:s:*`)
    for (const value of [
      '{"v":2,"p":["client",null,"alice"]}',
      '{"v":1,"p":["client",null]}',
      '{"v":1,"p":[1,null,null]}',
      'garbage',
    ]) {
      await admin.set(String(key), value, 'PX', 60_000)
      await t.rejects(
        guarded.get('s'),
        { code: 'ERR_VERIFIER_UNAVAILABLE', statusCode: 503 },
        value,
      )
    }
  })

  t.test('shared cache: values round-trip; other versions and garbage are misses', async (t) => {
    const prefix = freshPrefix()
    const a = await open(prefix)
    const b = await open(prefix)
    await a.cache.set('hash-of-token', { active: true, sub: 'alice' }, 60_000)
    t.same(await b.cache.get('hash-of-token'), { active: true, sub: 'alice' })
    t.equal(await b.cache.get('other'), undefined)
    const [key] = await admin.keys(`${prefix}:c:*`)
    t.ok((await admin.pttl(String(key))) > 0)
    for (const value of ['{"v":2,"d":{"active":true}}', '{"v":1,"d":[1]}', 'nope', '[1]']) {
      await admin.set(String(key), value, 'PX', 60_000)
      t.equal(await b.cache.get('hash-of-token'), undefined, value)
    }
    await a.cache.delete('hash-of-token')
    t.equal(await admin.exists(String(key)), 0)
  })

  t.test('shared cache: concurrent first loads across instances load once', async (t) => {
    const prefix = freshPrefix()
    const instances = await Promise.all([open(prefix), open(prefix), open(prefix)])
    let loads = 0
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        loadThroughSharedCache(
          guardSharedCache((instances[i % 3] as RedisStores).cache, { timeout: 500 }),
          'first-use',
          async () => {
            loads++
            await new Promise((resolve) => setTimeout(resolve, 50))
            return { value: { active: true }, ttl: 60_000 }
          },
          { lockTtl: 2_000 },
        ),
      ),
    )
    t.equal(loads, 1)
    t.same(new Set(results.map((r) => r.source)), new Set(['loaded', 'waited']))
    t.ok(results.every((r) => r.value.active === true))
    const lockKeys = await admin.keys(`${prefix}:c:*:lock`)
    t.same(lockKeys, [], 'the lock is released')
  })

  t.test('shared cache: a dead lock holder costs its lock TTL, never a deadlock', async (t) => {
    const prefix = freshPrefix()
    const a = await open(prefix)
    const b = await open(prefix)
    // a takes the lock and "dies" (never loads, never unlocks).
    t.equal(await a.cache.lock?.('k', 200), true)
    t.equal(await b.cache.lock?.('k', 200), false)
    const started = Date.now()
    const result = await loadThroughSharedCache(
      guardSharedCache(b.cache),
      'k',
      async () => ({ value: { active: false }, ttl: 0 }),
      { lockTtl: 200 },
    )
    t.equal(result.source, 'loaded')
    t.ok(Date.now() - started < 1_000)
    // A failing loader releases the lock so waiters stop waiting, and throws.
    await t.rejects(
      loadThroughSharedCache(guardSharedCache(b.cache), 'k2', async () =>
        Promise.reject(new Error('upstream down')),
      ),
      /upstream down/,
    )
    t.same(await admin.keys(`${prefix}:c:*:lock`), [])
  })

  t.test('shared cache: a waiter sees a value set while it registers', async (t) => {
    const prefix = freshPrefix()
    const a = await open(prefix)
    await a.cache.set('ready', { active: true }, 60_000)
    t.same(await a.cache.wait?.('ready', 1_000), { active: true })
    const controller = new AbortController()
    const waiting = a.cache.wait?.('never', 5_000, { signal: controller.signal })
    controller.abort(new Error('client went away'))
    await t.rejects(Promise.resolve(waiting), /client went away/)
    // Unlocking a key this instance does not hold does nothing.
    await a.cache.unlock?.('never')
  })

  t.test('revocations: reach every instance in milliseconds', async (t) => {
    const prefix = freshPrefix()
    const a = await open(prefix)
    const b = await open(prefix)
    const c = await open(prefix)
    const now = Math.floor(Date.now() / 1000)
    const alice = token({ subject: 'alice', issuer: 'https://as', claims: { iat: now - 10 } })
    const later = token({ subject: 'alice', issuer: 'https://as', claims: { iat: now + 5 } })
    t.equal(b.revocations.isRevoked(alice), false)
    const heard = new Promise<number>((resolve) => {
      const off = c.revocations.subscribe(() => {
        off?.()
        resolve(performance.now())
      })
    })
    const started = performance.now()
    await revokeSubject(a.revocations, { issuer: 'https://as', subject: 'alice' })
    const delay = (await heard) - started
    t.ok(delay < 100, `propagation took ${delay.toFixed(1)} ms`)
    t.equal(a.revocations.isRevoked(alice), true, 'effective at once where it was made')
    t.equal(c.revocations.isRevoked(alice), true)
    t.equal(c.revocations.isRevoked(later), false, 'a token issued later is accepted')
    t.equal(
      c.revocations.isRevoked(
        token({ subject: 'alice', issuer: 'https://other', claims: { iat: 1 } }),
      ),
      false,
      'another issuer’s alice is someone else',
    )
    // Every key of the list lives in one slot, with a TTL.
    const keys = await admin.keys(`${prefix}:*`)
    t.same(keys.sort(), [
      `${prefix}:{rev}:entries`,
      `${prefix}:{rev}:expiry`,
      `${prefix}:{rev}:log`,
      `${prefix}:{rev}:mark`,
    ])
    for (const key of keys) t.ok((await admin.pttl(key)) > 0, key)
  })

  t.test('revocations: by jti and by client; a restarted instance loads them', async (t) => {
    const prefix = freshPrefix()
    const a = await open(prefix)
    const exp = Math.floor(Date.now() / 1000) + 600
    await revokeToken(a.revocations, { jti: 'jti-1', expiresAt: exp })
    await revokeClient(a.revocations, { clientId: 'leaky' })
    // A repeated, weaker revocation changes nothing and announces nothing new.
    await revokeToken(a.revocations, { jti: 'jti-1', expiresAt: exp - 100 })
    const b = await open(prefix)
    t.equal(b.revocations.size, 2)
    t.equal(b.revocations.isRevoked(token({ claims: { jti: 'jti-1', iat: 0 } })), true)
    t.equal(b.revocations.isRevoked(token({ clientId: 'leaky', claims: { iat: 0 } })), true)
    t.equal(b.revocations.isRevoked(token({ clientId: 'leaky' })), true, 'no iat: revoked')
    t.equal(b.revocations.isRevoked(token({ claims: { jti: 'jti-2' } })), false)
    const stored = await admin.hget(`${prefix}:{rev}:entries`, 't:jti-1')
    t.match(JSON.parse(String(stored)), { v: 1, type: 'token', jti: 'jti-1', expiresAt: exp })
  })

  t.test('revocations: a missed announcement is caught by the next sync', async (t) => {
    const prefix = freshPrefix()
    const a = await open(prefix, { revocations: { syncInterval: 0 } })
    // Written behind the instances' backs: no announcement.
    await admin.hset(
      `${prefix}:{rev}:entries`,
      'c:quiet',
      JSON.stringify({ v: 1, type: 'client', clientId: 'quiet', before: 9e9, expiresAt: 9e9 }),
      'c:future-format',
      JSON.stringify({
        v: 7,
        type: 'client',
        clientId: 'future',
        before: 9e9,
        expiresAt: 9e9,
        x: 1,
      }),
      'c:garbage',
      '{"v":1,"type":"client"}',
    )
    await admin.set(`${prefix}:{rev}:mark`, 'changed-behind-our-back')
    t.equal(a.revocations.isRevoked(token({ clientId: 'quiet' })), false)
    const events: StoreEvent[] = []
    const listen = (event: unknown) => events.push(event as StoreEvent)
    diagnostics.subscribe(STORE_CHANNEL, listen)
    t.teardown(() => diagnostics.unsubscribe(STORE_CHANNEL, listen))
    await a.revocations.sync()
    t.equal(a.revocations.isRevoked(token({ clientId: 'quiet' })), true)
    t.equal(a.revocations.isRevoked(token({ clientId: 'future' })), true, 'newer formats are read')
    t.ok(events.some((e) => e.store === 'revocation' && e.reason === 'store_invalid_answer'))
    // A garbage announcement is reported and ignored.
    await admin.publish(`${prefix}:revocations`, 'not json')
  })

  t.test('revocations: the copy fails closed once older than maxStaleness', async (t) => {
    let clock = Date.now()
    const stores = await open(freshPrefix(), {
      now: () => clock,
      revocations: { syncInterval: 0, maxStaleness: 1_000 },
    })
    const alice = token({ subject: 'alice' })
    t.equal(stores.revocations.isRevoked(alice), false)
    t.equal(stores.revocations.fresh, true)
    clock += 1_001
    t.equal(stores.revocations.fresh, false)
    t.throws(() => stores.revocations.isRevoked(alice), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'store_stale',
      headers: { 'retry-after': '1' },
    })
    await stores.revocations.sync()
    t.equal(stores.revocations.isRevoked(alice), false)
  })

  t.test('a user client is used and never closed', async (t) => {
    const client = new Redis(redis.url)
    t.teardown(() => client.disconnect())
    const stores = createRedisStores({ redis: client, prefix: freshPrefix() })
    await stores.ready()
    t.equal(stores.client, client)
    t.equal(await stores.replay.markUsed('x', Date.now() / 1000 + 10), true)
    await stores.close()
    await stores.close()
    t.equal(await client.ping(), 'PONG', 'still open')
  })

  t.test('revokeInRedis: one call for scripts', async (t) => {
    const prefix = freshPrefix()
    const watcher = await open(prefix)
    await revokeInRedis({ url: redis.url, prefix }, { clientId: 'cli-client' })
    await revokeInRedis({ url: redis.url, prefix }, { issuer: null, subject: 'bob' })
    await revokeInRedis({ url: redis.url, prefix }, { jti: 'j', expiresAt: Date.now() / 1000 + 60 })
    await watcher.revocations.sync()
    t.equal(watcher.revocations.size, 3)
    t.equal(watcher.revocations.isRevoked(token({ subject: 'bob' })), true)
    await t.rejects(revokeInRedis({ url: redis.url, prefix }, {} as never), {
      code: 'ERR_INVALID_ARG_VALUE',
    })
    await t.rejects(revokeInRedis({ url: redis.url, prefix }, null as never), {
      code: 'ERR_INVALID_ARG_VALUE',
    })
  })

  t.test("core's createStoresFromEnv picks these stores for BEARERKIT_REDIS_URL", async (t) => {
    const prefix = freshPrefix()
    const stores = await createStoresFromEnv({
      BEARERKIT_REDIS_URL: redis.url,
      BEARERKIT_REDIS_PREFIX: prefix,
    })
    t.teardown(() => stores.close())
    await stores.ready()
    t.equal(stores.kind, 'redis')
    t.equal(await stores.replay.markUsed('env', Date.now() / 1000 + 10), true)
    t.equal((await admin.keys(`${prefix}:r:*`)).length, 1)
  })

  t.test('guards: replay answers are checked booleans', async (t) => {
    const stores = await open(freshPrefix())
    const replay = guardReplayStore(stores.replay)
    t.equal(await replay.markUsed('g', Date.now() / 1000 + 10), true)
    t.equal(await replay.markUsed('g', Date.now() / 1000 + 10), false)
  })
}

t.test('options are checked up front', async (t) => {
  const bad: [unknown, RegExp][] = [
    [undefined, /exactly one/],
    [{}, /exactly one/],
    [{ url: 'redis://x', redis: {} }, /ioredis/],
    [{ url: 'http://127.0.0.1' }, /redis:\/\//],
    [{ url: 'redis://127.0.0.1', prefix: 'a{b}' }, /prefix/],
    [{ url: 'redis://127.0.0.1', prefix: '' }, /prefix/],
    [{ url: 'redis://127.0.0.1', timeout: 0 }, /timeout/],
    [{ url: 'redis://127.0.0.1', timout: 5 }, /did you mean `timeout`/],
    [{ url: 'redis://127.0.0.1', revocations: { maxStaleness: 500 } }, /longer than syncInterval/],
    [{ url: 'redis://127.0.0.1', revocations: { maxStale: 500 } }, /maxStaleness/],
    [{ url: 'redis://127.0.0.1', now: 5 }, /now/],
    [Promise.resolve({}), /await/],
  ]
  for (const [options, message] of bad) {
    t.throws(() => createRedisStores(options as never), { code: 'ERR_INVALID_ARG_VALUE', message })
  }
  // Connection options beside a client of one's own would be silently ignored.
  const own = new Redis({ lazyConnect: true })
  t.teardown(() => own.disconnect())
  t.throws(() => createRedisStores({ redis: own, redisOptions: { connectTimeout: 10 } }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /^options\.redisOptions applies only to the connection opened from `url`/,
  })
  // A URL carries a password: no message quotes it.
  try {
    createRedisStores({ url: 'redis://:hunter2@127.0.0.1', prefix: '{' })
    t.fail('should throw')
  } catch (error) {
    t.notMatch((error as Error).message, /hunter2/)
  }
})

t.test('options from the environment', async (t) => {
  t.equal(redisStoresOptionsFromEnv({}), null)
  t.equal(redisStoresOptionsFromEnv({ BEARERKIT_REDIS_URL: '  ' }), null)
  t.same(redisStoresOptionsFromEnv({ BEARERKIT_REDIS_URL: 'redis://127.0.0.1:6379' }), {
    url: 'redis://127.0.0.1:6379',
  })
  t.same(
    redisStoresOptionsFromEnv({
      BEARERKIT_REDIS_URL: 'redis://r:6379',
      BEARERKIT_REDIS_PREFIX: 'app1',
      BEARERKIT_REDIS_TIMEOUT: '250',
      BEARERKIT_REVOCATION_MAX_STALENESS: '60000',
      BEARERKIT_REVOCATION_SYNC_INTERVAL: '500',
    }),
    {
      url: 'redis://r:6379',
      prefix: 'app1',
      timeout: 250,
      revocations: { maxStaleness: 60_000, syncInterval: 500 },
    },
  )
  t.same(
    redisStoresOptionsFromEnv({ X_REDIS_URL: 'redis://r', X_REVOCATION_SYNC_INTERVAL: '0' }, 'X_'),
    { url: 'redis://r', revocations: { syncInterval: 0 } },
  )
  t.throws(
    () =>
      redisStoresOptionsFromEnv({
        BEARERKIT_REDIS_URL: 'redis://r',
        BEARERKIT_REDIS_TIMEOUT: '1.5',
      }),
    { message: /^BEARERKIT_REDIS_TIMEOUT / },
  )
  t.throws(
    () =>
      redisStoresOptionsFromEnv({
        BEARERKIT_REDIS_URL: 'redis://r',
        BEARERKIT_REVOCATION_MAX_STALENESS: '-1',
      }),
    { message: /^BEARERKIT_REVOCATION_MAX_STALENESS / },
  )
})
