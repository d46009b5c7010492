import t from 'tap'
import { bearerAuth } from '../src/index.js'
import {
  ISSUER,
  RESOURCE,
  accessToken,
  bearer,
  buildApp,
  standardVerifier,
  tableVerifier,
} from './fixtures/app.js'

t.test('registered in a child scope it protects only that scope', async (t) => {
  const { app } = buildApp(t)
  app.get('/public', async (request) => ({ hasDecoration: 'accessToken' in request }))
  await app.register(async (child) => {
    await child.register(bearerAuth, { verifier: standardVerifier() })
    child.get('/private', async (request) => ({ client: request.accessToken?.clientId }))
    await child.register(async (grandchild) => {
      grandchild.get('/private/deeper', async () => 'deep')
    })
  })
  app.get('/public-after', async () => 'still public')

  const pub = await app.inject({ url: '/public' })
  t.equal(pub.statusCode, 200)
  t.same(pub.json(), { hasDecoration: false }, 'the root scope is not decorated')
  t.equal((await app.inject({ url: '/public-after' })).statusCode, 200)
  t.equal((await app.inject({ url: '/private' })).statusCode, 401)
  t.equal((await app.inject({ url: '/private/deeper' })).statusCode, 401, 'children inherit')
  const ok = await app.inject({ url: '/private', headers: bearer('good') })
  t.same(ok.json(), { client: 'client-1' })
  t.equal((await app.inject({ url: '/nope' })).statusCode, 404, 'the root 404 is not protected')
})

t.test('registered at the root it protects every scope', async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, { verifier: standardVerifier() })
  await app.register(
    async (child) => {
      child.get('/x', async () => 'x')
    },
    { prefix: '/child' },
  )
  t.equal((await app.inject({ url: '/child/x' })).statusCode, 401)
  t.equal((await app.inject({ url: '/child/x', headers: bearer('good') })).statusCode, 200)
})

t.test('sibling scopes keep their own options', async (t) => {
  const { app } = buildApp(t)
  const verifier = tableVerifier({
    reader: accessToken('reader', { scopes: ['read'] }),
    writer: accessToken('writer', { scopes: ['write'] }),
  })
  await app.register(
    async (api) => {
      await api.register(bearerAuth, { verifier, requiredScopes: ['read'] })
      api.get('/', async () => 'read')
    },
    { prefix: '/read' },
  )
  await app.register(
    async (api) => {
      await api.register(bearerAuth, { verifier, requiredScopes: ['write'] })
      api.get('/', async () => 'write')
    },
    { prefix: '/write' },
  )
  t.equal((await app.inject({ url: '/read', headers: bearer('reader') })).statusCode, 200)
  t.equal((await app.inject({ url: '/read', headers: bearer('writer') })).statusCode, 403)
  t.equal((await app.inject({ url: '/write', headers: bearer('writer') })).statusCode, 200)
  t.equal((await app.inject({ url: '/write', headers: bearer('reader') })).statusCode, 403)
})

t.test('nested registrations both apply and decorate only once', async (t) => {
  const { app } = buildApp(t)
  const verifier = tableVerifier({
    reader: accessToken('reader', { scopes: ['read'] }),
    both: accessToken('both', { scopes: ['read', 'admin'] }),
  })
  await app.register(bearerAuth, {
    verifier,
    requiredScopes: ['read'],
    resource: { url: RESOURCE, authorizationServers: [ISSUER] },
  })
  await app.register(async (admin) => {
    await admin.register(bearerAuth, { verifier, requiredScopes: ['admin'], audience: null })
    admin.get('/admin', async (request) => request.principal)
  })
  const denied = await app.inject({ url: '/admin', headers: bearer('reader') })
  t.equal(denied.statusCode, 403)
  t.equal(
    denied.headers['www-authenticate'],
    'Bearer error="insufficient_scope", error_description="The access token lacks a required scope", scope="admin"',
  )
  t.equal(
    denied.body,
    '{"error":"insufficient_scope","error_description":"The access token lacks a required scope"}',
  )
  const ok = await app.inject({ url: '/admin', headers: bearer('both') })
  t.same(ok.json(), ['client-1', ISSUER, 'alice'])
})

t.test('routes declared before the plugin in the same scope are protected too', async (t) => {
  const { app } = buildApp(t)
  await app.register(async (scope) => {
    scope.get('/early', async () => 'early')
    scope.get('/early-public', { config: { bearer: false } }, async () => 'open')
    scope.get(
      '/early-bad',
      { config: { bearer: { scopes: 'admin' as unknown as string[] } } },
      async () => 'x',
    )
    await scope.register(bearerAuth, { verifier: standardVerifier() })
  })
  t.equal((await app.inject({ url: '/early' })).statusCode, 401)
  t.equal((await app.inject({ url: '/early-public' })).statusCode, 200)
  const bad = await app.inject({ url: '/early-bad', headers: bearer('good') })
  t.equal(bad.statusCode, 500, 'an unreadable setting fails closed')
})

t.test('two sibling scopes describing the same resource: serve the metadata once', async (t) => {
  const resource = { url: RESOURCE, authorizationServers: [ISSUER] }
  const { app } = buildApp(t)
  await t.rejects(
    async () => {
      await app.register(async (a) => {
        await a.register(bearerAuth, { verifier: standardVerifier(), resource })
      })
      await app.register(async (b) => {
        await b.register(bearerAuth, { verifier: standardVerifier(), resource })
      })
      await app.ready()
    },
    { code: 'FST_ERR_DUPLICATED_ROUTE' },
  )
  const { app: fixed } = buildApp(t)
  await fixed.register(async (a) => {
    await a.register(bearerAuth, { verifier: standardVerifier(), resource })
    a.get('/a', async () => 'a')
  })
  await fixed.register(async (b) => {
    await b.register(bearerAuth, { verifier: standardVerifier(), resource, metadata: false })
    b.get('/b', async () => 'b')
  })
  t.equal(
    (await fixed.inject({ url: '/.well-known/oauth-protected-resource/mcp' })).statusCode,
    200,
  )
  t.equal((await fixed.inject({ url: '/b', headers: bearer('good') })).statusCode, 200)
})
