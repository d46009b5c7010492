import t from 'tap'
import {
  createMemorySharedCache,
  type SharedCacheValue,
  type SharedResultCache,
} from '@bearerkit/core'
import { createIntrospectionVerifier } from '../src/index.js'
import { activeAnswer, baseOptions, createClock, newToken, NOW } from './fixtures/common.js'
import { startServer, type TestServer } from './fixtures/net.js'

/** A shared tier as a fleet would see it: one map, a lock, and wake-ups, with a write log. */
function fleetCache(): SharedResultCache & { values: Map<string, SharedCacheValue> } {
  const values = new Map<string, SharedCacheValue>()
  const locks = new Set<string>()
  const waiting = new Map<string, (() => void)[]>()
  return {
    values,
    get: (key) => values.get(key),
    set: (key, value) => {
      values.set(key, value)
    },
    delete: (key) => {
      values.delete(key)
    },
    lock: (key) => (locks.has(key) ? false : (locks.add(key), true)),
    unlock: (key) => {
      locks.delete(key)
      for (const wake of waiting.get(key) ?? []) wake()
      waiting.delete(key)
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

async function endpoint(
  t: Parameters<typeof startServer>[0],
  answer: (token: string) => unknown = () => activeAnswer(),
): Promise<TestServer> {
  return startServer(t, (request, response) => {
    const token = new URLSearchParams(request.body).get('token') ?? ''
    setImmediate(() => {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(answer(token)))
    })
  })
}

t.test(
  'instances sharing a tier make one introspection request for concurrent first uses',
  async (t) => {
    const server = await endpoint(t)
    const shared = fleetCache()
    const fleet = [1, 2, 3].map(() =>
      createIntrospectionVerifier(
        baseOptions({ introspectionUrl: `${server.url}/introspect`, sharedCache: shared }),
      ),
    )
    const token = newToken()
    const results = await Promise.all(
      Array.from({ length: 90 }, (_, i) =>
        (fleet[i % 3] as (typeof fleet)[number]).verifyToken(token),
      ),
    )
    t.equal(server.requests.length, 1)
    t.ok(results.every((r) => r?.subject === 'alice'))
    // A fourth instance starting cold answers from the shared tier.
    const late = createIntrospectionVerifier(
      baseOptions({ introspectionUrl: `${server.url}/introspect`, sharedCache: shared }),
    )
    t.equal((await late.verifyToken(token))?.subject, 'alice')
    t.equal(server.requests.length, 1)
    // What is shared: the server's answer under a hash, never the token.
    t.equal(shared.values.size, 1)
    const [key, value] = [...shared.values][0] ?? ['', {}]
    t.notMatch(key, token)
    t.notMatch(JSON.stringify(value), token)
    t.match(value, { active: true, sub: 'alice' })
  },
)

t.test('each instance still applies its own policy to a shared answer', async (t) => {
  const server = await endpoint(t)
  const shared = fleetCache()
  const url = `${server.url}/introspect`
  const token = newToken()
  const reader = createIntrospectionVerifier(
    baseOptions({ introspectionUrl: url, sharedCache: shared }),
  )
  const admin = createIntrospectionVerifier(
    baseOptions({ introspectionUrl: url, sharedCache: shared, requiredScopes: ['admin'] }),
  )
  const elsewhere = createIntrospectionVerifier(
    baseOptions({ introspectionUrl: url, sharedCache: shared, audience: 'https://other.example' }),
  )
  t.ok(await reader.verifyToken(token))
  t.equal(await admin.verifyToken(token), null, 'missing scope, shared answer or not')
  t.equal(await elsewhere.verifyToken(token), null, 'another audience')
  t.equal(server.requests.length, 1)
  // Another client id at the same endpoint never reads this answer.
  const otherClient = createIntrospectionVerifier(
    baseOptions({ introspectionUrl: url, sharedCache: shared, clientId: 'other-rs' }),
  )
  t.ok(await otherClient.verifyToken(token))
  t.equal(server.requests.length, 2)
})

t.test('expiry: the shared entry never outlives exp, and exp is checked on each use', async (t) => {
  const clock = createClock()
  const server = await endpoint(t, () => activeAnswer({ exp: NOW / 1000 + 10 }))
  const ttls: number[] = []
  const base = createMemorySharedCache({ now: clock })
  const shared: SharedResultCache = {
    ...base,
    set: (key, value, ttl) => {
      ttls.push(ttl)
      return base.set(key, value, ttl)
    },
  }
  const options = baseOptions({
    introspectionUrl: `${server.url}/introspect`,
    sharedCache: shared,
    now: clock,
  })
  const token = newToken()
  t.ok(await createIntrospectionVerifier(options).verifyToken(token))
  t.same(ttls, [10_000], 'min(ttl 60 s, exp - now)')
  clock.advance(10)
  t.equal(
    await createIntrospectionVerifier(options).verifyToken(token),
    null,
    'exp == now: expired',
  )
})

t.test('inactive answers are shared for negativeTtl only', async (t) => {
  const server = await endpoint(t, () => ({ active: false }))
  const ttls: number[] = []
  const base = fleetCache()
  const shared: SharedResultCache = {
    ...base,
    set: (key, value, ttl) => {
      ttls.push(ttl)
      return base.set(key, value, ttl)
    },
  }
  const verifier = createIntrospectionVerifier(
    baseOptions({
      introspectionUrl: `${server.url}/introspect`,
      sharedCache: shared,
      cache: { negativeTtl: 2 },
    }),
  )
  t.equal(await verifier.verifyToken(newToken()), null)
  t.same(ttls, [2_000])
})

t.test('a shared tier that fails or lies only costs speed', async (t) => {
  const server = await endpoint(t)
  const url = `${server.url}/introspect`
  const broken: SharedResultCache = {
    get: () => Promise.reject(new Error('redis down')),
    set: () => new Promise(() => undefined),
    delete: () => undefined,
    lock: () => {
      throw new Error('redis down')
    },
    unlock: () => undefined,
    wait: () => undefined,
  }
  const verifier = createIntrospectionVerifier(
    baseOptions({ introspectionUrl: url, sharedCache: broken }),
  )
  t.equal((await verifier.verifyToken(newToken()))?.subject, 'alice', 'no 503')
  // Garbage under the key: read as a miss, the server is asked.
  const liar = fleetCache()
  const lying: SharedResultCache = { ...liar, get: () => ({ active: 'yes' }), lock: () => true }
  const before = server.requests.length
  const second = createIntrospectionVerifier(
    baseOptions({ introspectionUrl: url, sharedCache: lying }),
  )
  t.equal((await second.verifyToken(newToken()))?.subject, 'alice')
  t.equal(server.requests.length, before + 1)
  // A value another instance stored, that turns out malformed when read: asked again.
  const poisoned = fleetCache()
  const third = createIntrospectionVerifier(
    baseOptions({
      introspectionUrl: url,
      sharedCache: {
        ...poisoned,
        get: () => undefined,
        lock: () => false,
        wait: () => ({ active: 1 }),
      },
    }),
  )
  t.equal((await third.verifyToken(newToken()))?.subject, 'alice')
  t.throws(() => createIntrospectionVerifier(baseOptions({ sharedCache: {} as never })), {
    message: /^sharedCache /,
  })
})

t.test('an upstream failure is a 503 for the holder and releases the fleet', async (t) => {
  let fail = true
  const server = await startServer(t, (_request, response) => {
    response.writeHead(fail ? 500 : 200, { 'content-type': 'application/json' })
    response.end(JSON.stringify(activeAnswer()))
  })
  const shared = fleetCache()
  const verifier = createIntrospectionVerifier(
    baseOptions({ introspectionUrl: `${server.url}/introspect`, sharedCache: shared }),
  )
  const token = newToken()
  await t.rejects(verifier.verifyToken(token), { code: 'ERR_VERIFIER_UNAVAILABLE' })
  fail = false
  t.ok(await verifier.verifyToken(token), 'the lock was released, and nothing was shared')
})
