import { InsufficientScopeError } from '@bearerkit/core'
import { Hono } from 'hono'
import t from 'tap'
import {
  ISSUER,
  METADATA_PATH,
  RESOURCE,
  TOKENS,
  conformanceOptions,
} from '../../http/test/fixtures/conformance.js'
import {
  bearerAuth,
  protectedResourceMetadata,
  requireScopes,
  type BearerEnv,
} from '../src/index.js'

const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })
const FORM = 'application/x-www-form-urlencoded'
const code = { code: 'ERR_INVALID_ARG_VALUE' }

t.test('options are checked up front', async (t) => {
  t.throws(() => bearerAuth(null as never), { ...code, message: /^options / })
  t.throws(() => bearerAuth([] as never), { ...code, message: /^options / })
  const base = conformanceOptions()
  t.throws(() => bearerAuth({ ...base, formBodyLimit: -1 }), { ...code, message: /formBodyLimit/ })
  t.throws(() => bearerAuth({ ...base, formBodyLimit: 0.5 }), { ...code, message: /formBodyLimit/ })
  t.throws(() => bearerAuth({ ...base, audiences: ['x'] } as never), {
    ...code,
    message: /options\.audiences is not a known option/,
  })
  const mw = bearerAuth(base)
  t.throws(() => mw.require(['two words']), { ...code, message: /^scopes / })
  t.throws(() => mw.require('admin' as never), { ...code, message: /^scopes / })
  t.ok(Object.isFrozen(mw))
})

t.test('route-only use, typed context variables, metadata middleware', async (t) => {
  const mw = bearerAuth(conformanceOptions())
  const app = new Hono<BearerEnv>()
  app.use(mw.metadata)
  app.get('/admin', mw.require(['admin']), (c) =>
    c.json({ client: c.get('accessToken').clientId, principal: c.get('principal') }),
  )
  app.get('/open', mw.require([]), (c) => c.json({ client: c.get('accessToken').clientId }))
  app.get('/public', (c) => c.json({ public: true }))
  const admin = await app.request('/admin', { headers: auth(TOKENS.admin) })
  t.equal(admin.status, 200)
  t.same(await admin.json(), { client: 'client-1', principal: ['client-1', ISSUER, 'alice'] })
  const lacking = await app.request('/admin', { headers: auth(TOKENS.good) })
  t.equal(lacking.status, 403)
  t.match(lacking.headers.get('www-authenticate'), /scope="read admin"/)
  t.equal((await app.request('/open', { headers: auth(TOKENS.good) })).status, 200)
  const metadata = await app.request(METADATA_PATH)
  t.equal(metadata.status, 200)
  t.equal(((await metadata.json()) as { resource: string }).resource, RESOURCE)
  t.same(await (await app.request('/public')).json(), { public: true })
})

t.test('app.use(auth) then require(): the token is verified once', async (t) => {
  let calls = 0
  const options = conformanceOptions()
  const verifier = options.verifier
  const mw = bearerAuth({
    ...options,
    verifier: {
      verifyToken: (token, opts) => {
        calls++
        return verifier.verifyToken(token, opts)
      },
    },
  })
  const app = new Hono<BearerEnv>()
  app.use(mw)
  app.get('/admin', mw.require(['admin']), (c) => c.json({ ok: true }))
  app.get('/plain', mw.require([]), (c) => c.json({ ok: true }))
  t.equal((await app.request('/admin', { headers: auth(TOKENS.admin) })).status, 200)
  t.equal(calls, 1)
  t.equal((await app.request('/admin', { headers: auth(TOKENS.good) })).status, 403)
  t.equal((await app.request('/plain', { headers: auth(TOKENS.good) })).status, 200)
  const other = new Hono<BearerEnv>()
  other.use(bearerAuth(conformanceOptions()))
  other.get('/admin', mw.require(['admin']), (c) => c.json({ ok: true }))
  calls = 0
  t.equal((await other.request('/admin', { headers: auth(TOKENS.admin) })).status, 200)
  t.equal(calls, 1, 'another gate acceptance does not count for this one')
})

t.test('requireScopes inside a handler', async (t) => {
  const mw = bearerAuth(conformanceOptions())
  const app = new Hono<BearerEnv>()
  app.get(
    '/tool',
    mw,
    (c) => requireScopes(c, [c.req.query('scope') ?? '']) ?? c.json({ ok: true }),
  )
  app.get('/unguarded', (c) => {
    try {
      requireScopes(c, ['x'])
      return c.json({ thrown: false })
    } catch (error) {
      return c.json({ code: (error as { code: string }).code })
    }
  })
  t.equal((await app.request('/tool?scope=read', { headers: auth(TOKENS.good) })).status, 200)
  const denied = await app.request('/tool?scope=admin', { headers: auth(TOKENS.good) })
  t.equal(denied.status, 403)
  t.match(denied.headers.get('www-authenticate'), /scope="read admin"/)
  t.same(await (await app.request('/unguarded')).json(), { code: 'ERR_INVALID_ARG_VALUE' })
  // gate.respond renders an application's own BearerError with the gate's challenge.
  const answer = mw.gate.respond(new InsufficientScopeError(['read', 'files:delete']))
  t.match(answer.headers['www-authenticate'], /scope="read files:delete"/)
})

t.test('protectedResourceMetadata serves only the document', async (t) => {
  const app = new Hono()
  app.use(
    protectedResourceMetadata({ resource: { url: RESOURCE, authorizationServers: [ISSUER] } }),
  )
  app.get('/other', (c) => c.json({ other: true }))
  const answer = await app.request(METADATA_PATH)
  t.equal(answer.status, 200)
  t.equal(answer.headers.get('access-control-allow-origin'), '*')
  t.same(await (await app.request('/other')).json(), { other: true })
})

t.test('form bodies: bounded, and still readable by the handler', async (t) => {
  const app = new Hono<BearerEnv>()
  app.use(bearerAuth({ ...conformanceOptions(), formBodyLimit: 16 }))
  app.post('/mcp', async (c) => c.json({ body: await c.req.parseBody() }))
  const ok = await app.request('/mcp', {
    method: 'POST',
    headers: { 'content-type': FORM, ...auth(TOKENS.good) },
    body: 'a=1&b=2',
  })
  t.equal(ok.status, 200)
  t.same(await ok.json(), { body: { a: '1', b: '2' } })
  const declared = await app.request('/mcp', {
    method: 'POST',
    headers: { 'content-type': FORM, 'content-length': '40', ...auth(TOKENS.good) },
    body: 'a='.padEnd(40, 'x'),
  })
  t.equal(declared.status, 413)
  t.equal(declared.headers.get('cache-control'), 'no-store')
  t.same(await declared.json(), {
    error: 'invalid_request',
    error_description: 'The form body is too large',
  })
  // Without Content-Length the size is known only once read.
  const undeclared = await app.request('/mcp', {
    method: 'POST',
    headers: { 'content-type': FORM, ...auth(TOKENS.good) },
    body: 'a='.padEnd(40, 'x'),
  })
  t.equal(undeclared.status, 413)
  const empty = await app.request('/mcp', {
    method: 'POST',
    headers: { 'content-type': FORM, ...auth(TOKENS.good) },
  })
  t.equal(empty.status, 200, 'no body to read')
})
