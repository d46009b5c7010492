// Which gate accepted a request is kept in the request's Context under a key only the middleware
// holds: a route's require() and requireScopes() trust it, and nothing a handler or another
// middleware can set under a string name stands in for it.
import { Hono } from 'hono'
import t from 'tap'
import { TOKENS, conformanceOptions } from '../../http/test/fixtures/conformance.js'
import { bearerAuth, requireScopes, type BearerEnv } from '../src/index.js'

const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

t.test('require() after the global middleware checks scopes only, once', async (t) => {
  let verifications = 0
  const options = conformanceOptions()
  const inner = options.verifier
  const mw = bearerAuth({
    ...options,
    verifier: {
      verifyToken: (token, verifyOptions) => {
        verifications++
        return inner.verifyToken(token, verifyOptions)
      },
    },
  })
  const app = new Hono<BearerEnv>()
  app.use(mw)
  app.get('/admin', mw.require(['admin']), (c) => c.json({ client: c.get('accessToken').clientId }))
  const ok = await app.request('/admin', { headers: auth(TOKENS.admin) })
  t.equal(ok.status, 200)
  t.same(await ok.json(), { client: 'client-1' })
  t.equal(verifications, 1, 'the token was verified once for the whole chain')
  const short = await app.request('/admin', { headers: auth(TOKENS.good) })
  t.equal(short.status, 403)
  t.match(short.headers.get('www-authenticate'), /error="insufficient_scope"/)
  t.equal(verifications, 2)
})

t.test('a variable set under a string name is not an acceptance', async (t) => {
  const mw = bearerAuth(conformanceOptions())
  const app = new Hono()
  // A middleware of the application that sets look-alike state before bearerAuth's require().
  app.use(async (c, next) => {
    c.set('bearerkit accepted' as never, { gate: mw.gate, result: { kind: 'accepted' } } as never)
    await next()
  })
  app.get('/admin', mw.require(['admin']), (c) => c.json({ reached: true }))
  app.get('/scoped', (c) => requireScopes(c, ['admin']) ?? c.json({ reached: true }))
  const forged = await app.request('/admin', { headers: auth(TOKENS.forged) })
  t.equal(forged.status, 401, 'the token was verified: refused')
  const none = await app.request('/admin')
  t.equal(none.status, 401)
  const scoped = await app.request('/scoped', { headers: auth(TOKENS.admin) })
  t.equal(scoped.status, 500, 'requireScopes refuses a request bearerAuth did not accept')
})

t.test('each request has its own state', async (t) => {
  const mw = bearerAuth(conformanceOptions())
  const app = new Hono<BearerEnv>()
  app.use(mw)
  app.get('/mcp', (c) => c.json({ client: c.get('accessToken').clientId }))
  const answers = await Promise.all([
    app.request('/mcp', { headers: auth(TOKENS.good) }),
    app.request('/mcp', { headers: auth(TOKENS.forged) }),
    app.request('/mcp', { headers: auth(TOKENS.good) }),
    app.request('/mcp'),
  ])
  t.same(
    answers.map((res) => res.status),
    [200, 401, 200, 401],
  )
})

t.test('a request handed to another app is authenticated by what it carries', async (t) => {
  // Under @hono/node-server, c.env.incoming is the Node request the server received. An app that
  // hands another Request to an inner app's fetch with the same env (a gateway that removes or
  // replaces the caller's credentials, Hono's own mount()) must have the inner middleware judge
  // that Request, never the Node request behind the outer one.
  const { serve } = await import('@hono/node-server')
  const inner = new Hono<BearerEnv>()
  inner.use(bearerAuth(conformanceOptions()))
  inner.all('*', (c) => c.json({ client: c.get('accessToken').clientId }))
  const outer = new Hono()
  outer.get('/strip', (c) => {
    const headers = new Headers(c.req.raw.headers)
    headers.delete('authorization')
    return inner.fetch(new Request('http://inside/mcp', { headers }), c.env)
  })
  outer.get('/swap', (c) => {
    const headers = new Headers(c.req.raw.headers)
    headers.set('authorization', `Bearer ${TOKENS.good}`)
    return inner.fetch(new Request('http://inside/mcp', { headers }), c.env)
  })
  outer.get('/query', (c) =>
    inner.fetch(new Request('http://inside/mcp?access_token=sEcReT.good', c.req.raw), c.env),
  )
  outer.get('/same', (c) => inner.fetch(c.req.raw, c.env))
  const server = serve({ fetch: outer.fetch, port: 0, hostname: '127.0.0.1' })
  await new Promise((resolve) => server.once('listening', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address() as { port: number }
  const send = (path: string, token: string): Promise<Response> =>
    fetch(`http://127.0.0.1:${port}${path}`, { headers: auth(token) })

  const stripped = await send('/strip', TOKENS.good)
  t.equal(stripped.status, 401, 'the credentials the outer app removed do not count')
  t.equal(
    stripped.headers.get('www-authenticate'),
    'Bearer realm="api", scope="read", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"',
  )
  const swapped = await send('/swap', TOKENS.forged)
  t.equal(swapped.status, 200, 'the credentials the outer app put in are the ones verified')
  t.same(await swapped.json(), { client: 'client-1' })
  const query = await send('/query', TOKENS.good)
  t.equal(query.status, 400, 'the query of the request handed on is checked')
  const same = await send('/same', TOKENS.good)
  t.equal(same.status, 200, 'the request the server built is read from its Node request')
})
