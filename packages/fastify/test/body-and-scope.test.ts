import { Refusal } from '@bearerkit/core'
import t from 'tap'
import { bearerAuth, requireScopes } from '../src/index.js'
import { accessToken, bearer, buildApp, standardVerifier, tableVerifier } from './fixtures/app.js'
import type { Test } from 'tap'

const FORM = 'application/x-www-form-urlencoded'

async function formApp(t: Test, withParser: boolean) {
  const { app } = buildApp(t)
  if (withParser) {
    app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)))
    })
  }
  const verifier = standardVerifier()
  await app.register(bearerAuth, { verifier, realm: 'api' })
  app.post('/submit', async (request) => ({ body: request.body }))
  app.post('/open', { config: { bearer: false } }, async (request) => ({ body: request.body }))
  return { app, verifier }
}

t.test('a token in a form body is invalid_request, alone or with the header', async (t) => {
  const { app, verifier } = await formApp(t, true)
  const alone = await app.inject({
    method: 'POST',
    url: '/submit',
    headers: { 'content-type': FORM },
    payload: 'a=1&access_token=good',
  })
  t.equal(alone.statusCode, 400)
  t.equal(
    alone.headers['www-authenticate'],
    'Bearer realm="api", error="invalid_request", error_description="Access tokens are accepted only in the Authorization header"',
  )
  t.same(verifier.calls, [], 'never verified')

  const both = await app.inject({
    method: 'POST',
    url: '/submit',
    headers: { 'content-type': `${FORM}; charset=utf-8`, ...bearer('good') },
    payload: 'access_token=good',
  })
  t.equal(both.statusCode, 400)
  t.equal(
    both.body,
    '{"error":"invalid_request","error_description":"The access token must be sent in one place only"}',
  )
})

t.test('a form body without a token and without a header is a plain 401', async (t) => {
  const { app } = await formApp(t, true)
  const res = await app.inject({
    method: 'POST',
    url: '/submit',
    headers: { 'content-type': FORM },
    payload: 'a=1',
  })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  const ok = await app.inject({
    method: 'POST',
    url: '/submit',
    headers: { 'content-type': FORM, ...bearer('good') },
    payload: 'a=1',
  })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { body: { a: '1' } })
})

t.test('JSON bodies and public routes are not inspected for tokens', async (t) => {
  const { app } = await formApp(t, true)
  const json = await app.inject({
    method: 'POST',
    url: '/submit',
    headers: bearer('good'),
    payload: { access_token: 'x' },
  })
  t.equal(json.statusCode, 200, 'RFC 6750 §2.2 is about form bodies only')
  const open = await app.inject({
    method: 'POST',
    url: '/open',
    headers: { 'content-type': FORM },
    payload: 'access_token=x',
  })
  t.equal(open.statusCode, 200)
})

t.test('without a form parser an anonymous form post is 401, not 415', async (t) => {
  const { app } = await formApp(t, false)
  const res = await app.inject({
    method: 'POST',
    url: '/submit',
    headers: { 'content-type': FORM },
    payload: 'access_token=good',
  })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
})

t.test('requireScopes adds scopes from inside a handler', async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, {
    verifier: tableVerifier({
      reader: accessToken('reader', { scopes: ['read'] }),
      writer: accessToken('writer', { scopes: ['read', 'write', 'files:delete'] }),
    }),
    requiredScopes: ['read'],
  })
  app.post('/files', { config: { bearer: { scopes: ['write'] } } }, async (request) => {
    requireScopes(request, ['files:delete', 'write'])
    return { deleted: true }
  })
  app.get('/public', { config: { bearer: false } }, async (request) => {
    requireScopes(request, ['x'])
    return 'unreachable'
  })
  const denied = await app.inject({ method: 'POST', url: '/files', headers: bearer('reader') })
  t.equal(denied.statusCode, 403, 'the route scope is checked first')
  t.match(denied.headers['www-authenticate'], 'scope="read write"')

  const { app: app2, logs } = buildApp(t)
  await app2.register(bearerAuth, {
    verifier: tableVerifier({ w: accessToken('w', { scopes: ['read', 'write'] }) }),
  })
  app2.post('/files', { config: { bearer: { scopes: ['write'] } } }, async (request) => {
    requireScopes(request, ['files:delete'])
    return { deleted: true }
  })
  const stepUp = await app2.inject({ method: 'POST', url: '/files', headers: bearer('w') })
  t.equal(stepUp.statusCode, 403)
  t.equal(
    stepUp.headers['www-authenticate'],
    'Bearer error="insufficient_scope", error_description="The access token lacks a required scope", scope="write files:delete"',
  )
  t.equal(
    stepUp.body,
    '{"error":"insufficient_scope","error_description":"The access token lacks a required scope"}',
  )
  const logged = logs
    .records()
    .find((r) => r.bearer !== undefined && r.msg === 'bearer token refused')
  t.same(logged?.bearer, {
    reason: 'insufficient_scope',
    statusCode: 403,
    missing: ['files:delete'],
  })

  const ok = await app.inject({ method: 'POST', url: '/files', headers: bearer('writer') })
  t.equal(ok.statusCode, 200)
  const misuse = await app.inject({ url: '/public' })
  t.equal(misuse.statusCode, 500, 'calling it on a public route is a programming error')
})

t.test('route scopes: duplicates merge with requiredScopes, true means default', async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, {
    verifier: tableVerifier({ a: accessToken('a', { scopes: [] }) }),
    requiredScopes: ['read', 'read'],
  })
  app.get('/x', { config: { bearer: { scopes: ['read', 'x'] } } }, async () => 'ok')
  app.get('/y', { config: { bearer: true } }, async () => 'ok')
  app.get('/z', { config: { bearer: {} } }, async () => 'ok')
  const x = await app.inject({ url: '/x', headers: bearer('a') })
  t.match(x.headers['www-authenticate'], 'scope="read x"')
  for (const url of ['/y', '/z']) {
    const res = await app.inject({ url, headers: bearer('a') })
    t.equal(res.statusCode, 403)
    t.match(res.headers['www-authenticate'], 'scope="read"')
  }
})

t.test('a verifier refusal is reported even for odd refusal codes', async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, {
    verifier: tableVerifier({ r: new Refusal('inactive', 'The access token is not active') }),
  })
  app.get('/', async () => 'ok')
  const res = await app.inject({ url: '/', headers: bearer('r') })
  t.equal(res.statusCode, 401)
  t.equal(
    res.headers['www-authenticate'],
    'Bearer error="invalid_token", error_description="The access token is not active"',
  )
})
