import t from 'tap'
import { SESSION_NOT_FOUND_BODY, bearerAuth, createSessionBinding } from '../src/index.js'
import { ISSUER, accessToken, bearer, buildApp, tableVerifier } from './fixtures/app.js'

const ALICE = ['client-1', ISSUER, 'alice'] as const
const BOB = ['client-1', ISSUER, 'bob'] as const

t.test('bind / check / unbind follow samePrincipal', async (t) => {
  const sessions = createSessionBinding()
  sessions.bind('s1', ALICE)
  t.equal(sessions.size, 1)
  t.equal(sessions.check('s1', ALICE), true)
  t.equal(sessions.check('s1', ['client-1', ISSUER, 'alice']), true, 'compared by value')
  t.equal(sessions.check('s1', BOB), false, 'another subject')
  t.equal(sessions.check('s1', ['client-2', ISSUER, 'alice']), false, 'another client')
  t.equal(sessions.check('s1', ['client-1', 'https://evil.example/', 'alice']), false)
  t.equal(sessions.check('s1', ['client-1', null, null]), false, 'a missing part is not a match')
  t.equal(sessions.check('s1', ['client-1', ISSUER, null]), false, 'null equals only null')
  t.equal(sessions.check('s1', null), false, 'no principal')
  t.equal(sessions.check('s2', ALICE), false, 'unknown session')
  t.equal(sessions.check('__proto__', ALICE), false)
  t.equal(sessions.unbind('s1'), true)
  t.equal(sessions.unbind('s1'), false)
  t.equal(sessions.check('s1', ALICE), false)
})

t.test(
  'rebinding replaces the owner; the oldest binding is evicted past maxSessions',
  async (t) => {
    const evicted: string[] = []
    const sessions = createSessionBinding({ maxSessions: 2, onEvict: (id) => evicted.push(id) })
    sessions.bind('a', ALICE)
    sessions.bind('b', ALICE)
    sessions.bind('a', BOB) // refreshes a: b is now the oldest
    sessions.bind('c', ALICE)
    t.same(evicted, ['b'])
    t.equal(sessions.size, 2)
    t.equal(sessions.check('a', BOB), true)
    t.equal(sessions.check('a', ALICE), false)
    t.equal(sessions.check('b', ALICE), false)
    t.equal(sessions.check('c', ALICE), true)
  },
)

t.test('bad arguments are refused', async (t) => {
  t.throws(() => createSessionBinding({ maxSessions: 0 }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: 'options.maxSessions must be a positive whole number',
  })
  t.throws(() => createSessionBinding({ header: 'bad header' }), {
    message: 'options.header must be a header name',
  })
  t.throws(() => createSessionBinding({ onEvict: 'x' as unknown as () => void }), {
    message: 'options.onEvict must be a function',
  })
  t.throws(() => createSessionBinding(null as unknown as object), {
    message: 'options must be an object',
  })
  const sessions = createSessionBinding()
  t.throws(() => sessions.bind('', ALICE), { message: 'sessionId must be a non-empty string' })
  t.throws(() => sessions.bind('s', null as unknown as typeof ALICE), {
    message: 'principal must be the [clientId, issuer, subject] of a token',
  })
})

t.test('guard answers 404 like an unknown MCP session', async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, {
    verifier: tableVerifier({
      alice: accessToken('alice'),
      bob: accessToken('bob', { subject: 'bob' }),
    }),
  })
  const sessions = createSessionBinding({ header: 'X-Session' })
  app.post('/start', async (request) => {
    sessions.bind('sess-1', request.principal as typeof ALICE)
    return { id: 'sess-1' }
  })
  app.post('/use', { preHandler: sessions.guard }, async () => ({ ok: true }))
  app.post('/open', { config: { bearer: false }, preHandler: sessions.guard }, async () => 'open')

  t.equal(
    (await app.inject({ method: 'POST', url: '/start', headers: bearer('alice') })).statusCode,
    200,
  )
  const own = await app.inject({
    method: 'POST',
    url: '/use',
    headers: { ...bearer('alice'), 'x-session': 'sess-1' },
  })
  t.equal(own.statusCode, 200)
  const none = await app.inject({ method: 'POST', url: '/use', headers: bearer('bob') })
  t.equal(none.statusCode, 200, 'no session header: a new session may be created')

  const expected =
    '{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}'
  t.equal(JSON.stringify(SESSION_NOT_FOUND_BODY), expected)
  for (const [name, headers] of [
    ['another principal', { ...bearer('bob'), 'x-session': 'sess-1' }],
    ['an unknown session', { ...bearer('alice'), 'x-session': 'sess-2' }],
    ['a repeated header', { ...bearer('alice'), 'x-session': ['sess-1', 'sess-1'] }],
  ] as const) {
    const res = await app.inject({
      method: 'POST',
      url: '/use',
      headers: headers as Record<string, string>,
    })
    t.equal(res.statusCode, 404, name)
    t.equal(res.body, expected, name)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  }
  const anonymous = await app.inject({
    method: 'POST',
    url: '/open',
    headers: { 'x-session': 'sess-1' },
  })
  t.equal(anonymous.statusCode, 404, 'a public route has no principal, so no session')
})

t.test(
  'session binding is strict: a token without sub never owns a session created with sub',
  async (t) => {
    const { app, logs } = buildApp(t)
    await app.register(bearerAuth, {
      verifier: tableVerifier({
        // The session's creator: [client-A, iss, alice].
        alice: accessToken('alice', { clientId: 'client-A' }),
        // client credentials: the same client and issuer, no end user.
        machine: accessToken('machine', { clientId: 'client-A', subject: undefined }),
        // introspection-style: neither iss nor sub.
        opaque: accessToken('opaque', {
          clientId: 'client-A',
          issuer: undefined,
          subject: undefined,
        }),
      }),
    })
    const sessions = createSessionBinding()
    app.post('/start', async (request) => {
      sessions.bind('sess-A', request.principal as typeof ALICE)
      return { id: 'sess-A' }
    })
    app.post('/use', { preHandler: sessions.guard }, async () => ({ secret: 'session data' }))

    const start = await app.inject({ method: 'POST', url: '/start', headers: bearer('alice') })
    t.equal(start.statusCode, 200)
    const own = await app.inject({
      method: 'POST',
      url: '/use',
      headers: { ...bearer('alice'), 'mcp-session-id': 'sess-A' },
    })
    t.equal(own.statusCode, 200, 'the creator keeps its session')
    for (const token of ['machine', 'opaque']) {
      const res = await app.inject({
        method: 'POST',
        url: '/use',
        headers: { ...bearer(token), 'mcp-session-id': 'sess-A' },
      })
      t.equal(res.statusCode, 404, token)
      t.equal(res.body, JSON.stringify(SESSION_NOT_FOUND_BODY), token)
      t.notMatch(res.body, 'session data', token)
    }
    const reasons = logs
      .records()
      .map((r) => (r.bearer as { reason?: string } | undefined)?.reason)
      .filter((reason) => reason?.startsWith('session_'))
    t.same(reasons, ['session_not_owned', 'session_not_owned'])
  },
)
