import t from 'tap'
import { createMemorySessionStore, type SessionStore } from '@bearerkit/core'
import { bearerAuth, createSessionBinding } from '../src/index.js'
import { ISSUER, accessToken, bearer, buildApp, tableVerifier } from './fixtures/app.js'

const ALICE = ['client-1', ISSUER, 'alice'] as const
const BOB = ['client-1', ISSUER, 'bob'] as const
const NOT_FOUND =
  '{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}'

// Two "instances": two apps with their own bindings over one store.
const twoInstances = async (t: Parameters<typeof buildApp>[0], store: SessionStore) => {
  const instances = []
  for (let i = 0; i < 2; i++) {
    const { app } = buildApp(t)
    await app.register(bearerAuth, {
      verifier: tableVerifier({
        alice: accessToken('alice'),
        bob: accessToken('bob', { subject: 'bob' }),
      }),
    })
    const sessions = createSessionBinding({ store, ttl: 60_000 })
    app.post('/start', async (request) => {
      await sessions.bind('sess-1', request.principal as typeof ALICE)
      return { id: 'sess-1' }
    })
    app.post('/use', { preHandler: sessions.guard }, async () => ({ instance: i }))
    instances.push({ app, sessions })
  }
  return instances as [(typeof instances)[0], (typeof instances)[0]]
}

t.test(
  'a session bound on one instance is its owner’s on the other, and nobody else’s',
  async (t) => {
    const [a, b] = await twoInstances(t, createMemorySessionStore())
    t.equal(
      (await a.app.inject({ method: 'POST', url: '/start', headers: bearer('alice') })).statusCode,
      200,
    )
    const own = await b.app.inject({
      method: 'POST',
      url: '/use',
      headers: { ...bearer('alice'), 'mcp-session-id': 'sess-1' },
    })
    t.equal(own.statusCode, 200)
    t.same(own.json(), { instance: 1 })
    for (const [name, headers] of [
      ['another principal', { ...bearer('bob'), 'mcp-session-id': 'sess-1' }],
      ['an unknown session', { ...bearer('alice'), 'mcp-session-id': 'sess-2' }],
      ['an empty header', { ...bearer('alice'), 'mcp-session-id': '' }],
      ['a repeated header', { ...bearer('alice'), 'mcp-session-id': ['sess-1', 'sess-1'] }],
    ] as const) {
      const res = await b.app.inject({
        method: 'POST',
        url: '/use',
        headers: headers as Record<string, string>,
      })
      t.equal(res.statusCode, 404, name)
      t.equal(res.body, NOT_FOUND, name)
    }
    t.equal(
      (await b.app.inject({ method: 'POST', url: '/use', headers: bearer('bob') })).statusCode,
      200,
    )
    t.equal(await b.sessions.check('sess-1', ALICE), true)
    t.equal(await b.sessions.check('sess-1', BOB), false)
    t.equal(await b.sessions.check('sess-1', null), false)
    t.equal(await b.sessions.check('', ALICE), false)
    t.equal(await a.sessions.unbind('sess-1'), true)
    t.equal(await b.sessions.check('sess-1', ALICE), false)
  },
)

t.test('a store that fails is a 503 with Retry-After, never a 404 for the owner', async (t) => {
  let down = false
  const memory = createMemorySessionStore()
  const store: SessionStore = {
    set: (...args) => memory.set(...args),
    get: (id) => (down ? new Promise(() => undefined) : memory.get(id)),
    touch: (...args) => memory.touch(...args),
    delete: (...args) => memory.delete(...args),
  }
  const [a, b] = await twoInstances(t, store)
  await a.app.inject({ method: 'POST', url: '/start', headers: bearer('alice') })
  down = true
  for (const token of ['alice', 'bob']) {
    const res = await b.app.inject({
      method: 'POST',
      url: '/use',
      headers: { ...bearer(token), 'mcp-session-id': 'sess-1' },
    })
    t.equal(res.statusCode, 503, token)
    t.equal(res.headers['retry-after'], '1')
    t.notMatch(res.body, /sess-1/)
  }
  await t.rejects(b.sessions.check('sess-1', ALICE), { code: 'ERR_VERIFIER_UNAVAILABLE' })
  down = false
  const back = await b.app.inject({
    method: 'POST',
    url: '/use',
    headers: { ...bearer('alice'), 'mcp-session-id': 'sess-1' },
  })
  t.equal(back.statusCode, 200, 'recovers with the store')
})

t.test('a store answering garbage is a 503; options are checked', async (t) => {
  const liar: SessionStore = {
    set: () => undefined,
    get: () => ['client-1', ISSUER] as never,
    touch: () => true,
    delete: () => true,
  }
  const [, b] = await twoInstances(t, liar)
  const res = await b.app.inject({
    method: 'POST',
    url: '/use',
    headers: { ...bearer('alice'), 'mcp-session-id': 'sess-1' },
  })
  t.equal(res.statusCode, 503)
  const store = createMemorySessionStore()
  t.throws(() => createSessionBinding({ store, ttl: 0 }), { message: /^options\.ttl / })
  t.throws(() => createSessionBinding({ store, header: 'bad header' }), {
    message: /^options\.header /,
  })
  t.throws(() => createSessionBinding({ store, storeTimeout: -1 }), {
    message: /^options\.storeTimeout /,
  })
  t.throws(() => createSessionBinding({ store: {} as SessionStore }), { message: /^sessionStore / })
  t.throws(() => createSessionBinding({ store, maxSessions: 5 } as never), {
    message: /^options\.maxSessions /,
  })
})

t.test('the binding expires with its ttl', async (t) => {
  let clock = 0
  const store = createMemorySessionStore({ now: () => clock })
  const sessions = createSessionBinding({ store, ttl: 1_000 })
  await sessions.bind('s', ALICE)
  clock = 999
  t.equal(await sessions.check('s', ALICE), true)
  clock = 1_000
  t.equal(await sessions.check('s', ALICE), false, 'expired exactly at its ttl')
  // Default ttl: a day.
  const daily = createSessionBinding({ store })
  await daily.bind('d', ALICE)
  clock = 1_000 + 86_399_999
  t.equal(await daily.check('d', ALICE), true)
})
