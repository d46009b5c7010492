import { inspect } from 'node:util'
import { accessTokenFromClaims, Refusal, defineVerifier } from '@bearerkit/core'
import t from 'tap'
import { bearerAuth, requireAccessToken } from '../src/index.js'
import { METADATA, RESOURCE, bearer, buildApp, standardVerifier } from './fixtures/app.js'

const resource = { url: RESOURCE, authorizationServers: ['https://login.example.com/'] }

t.test('requireAccessToken: the token on a protected route', async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, { verifier: standardVerifier(), resource })
  app.get('/mcp/me', async (request) => requireAccessToken(request).clientId)
  const res = await app.inject({ url: '/mcp/me', headers: bearer('good') })
  t.equal(res.statusCode, 200)
  t.equal(res.body, 'client-1')
})

t.test('requireAccessToken: 401 with the plugin challenge on a public route', async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, { verifier: standardVerifier(), resource })
  app.get('/mcp/open', { config: { bearer: false } }, async (request) => {
    t.equal(request.accessToken, null, 'null on a public route in the plugin scope')
    return requireAccessToken(request).clientId
  })
  const res = await app.inject({ url: '/mcp/open', headers: bearer('good') })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], `Bearer resource_metadata="${METADATA}"`)
  t.notMatch(res.body, 'good')
})

t.test('requireAccessToken: 401 in a sibling scope without the plugin', async (t) => {
  const { app } = buildApp(t)
  await app.register(async (api) => {
    await api.register(bearerAuth, { verifier: standardVerifier() })
    api.get('/private', async (request) => requireAccessToken(request).clientId)
  })
  await app.register(async (other) => {
    other.get('/other', async (request) => {
      t.equal(request.accessToken, undefined, 'not decorated outside the plugin scope')
      return requireAccessToken(request).clientId
    })
  })
  const ok = await app.inject({ url: '/private', headers: bearer('good') })
  t.equal(ok.statusCode, 200)
  t.equal(ok.body, 'client-1')
  const res = await app.inject({ url: '/other', headers: bearer('good') })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer')
  t.same(res.json(), {
    statusCode: 401,
    code: 'ERR_MISSING_TOKEN',
    error: 'Unauthorized',
    message: 'Authentication is required',
  })
})

t.test('a Promise for a verifier: did you forget await?', async (t) => {
  const { app } = buildApp(t)
  await t.rejects(
    async () => {
      await app.register(bearerAuth, { verifier: Promise.resolve(standardVerifier()) as never })
    },
    {
      code: 'ERR_INVALID_ARG_VALUE',
      message: /^options\.verifier is a Promise: did you forget `await`\?/,
    },
  )
})

t.test('the token never shows in JSON or inspect output of request.accessToken', async (t) => {
  const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.U0lHTkFUVVJF'
  const verifier = defineVerifier('claims', (token) => {
    const built = accessTokenFromClaims(token, { client_id: 'c', sub: 'alice' })
    return built instanceof Refusal ? built : built
  })
  const { app, logs } = buildApp(t)
  await app.register(bearerAuth, { verifier })
  app.get('/me', async (request) => {
    request.log.info({ accessToken: request.accessToken }, 'who')
    return { json: JSON.stringify(request.accessToken), inspect: inspect(request.accessToken) }
  })
  const res = await app.inject({ url: '/me', headers: bearer(TOKEN) })
  t.equal(res.statusCode, 200)
  for (const text of [res.body, ...logs.lines]) {
    for (const part of TOKEN.split('.')) t.notOk(text.includes(part), 'no part of the token')
  }
  t.match(res.json(), {
    json: /"tokenFingerprint":"sha256:[0-9a-f]{16}"/,
    inspect: /^AccessToken /,
  })
})

t.test(
  'redactRequest leaves out absent fields (exactOptionalPropertyTypes-friendly)',
  async (t) => {
    const { redactRequest } = await import('../src/index.js')
    const base = { method: 'GET', url: '/x?access_token=secret', host: 'api', ip: '127.0.0.1' }
    const full = redactRequest({
      ...base,
      headers: { 'accept-version': ['1', '2'] },
      socket: { remotePort: 4321 },
    } as never)
    t.same(full, {
      method: 'GET',
      url: '/x?access_token=[redacted]',
      host: 'api',
      remoteAddress: '127.0.0.1',
      version: '1, 2',
      remotePort: 4321,
    })
    const bare = redactRequest({ ...base, headers: {}, socket: undefined } as never)
    t.same(Object.keys(bare), ['method', 'url', 'host', 'remoteAddress'])
  },
)
