import { InsufficientScopeError, InvalidTokenError, isBearerError } from '@bearerkit/core'
import { createJwtVerifier } from '@bearerkit/jwt'
import cors from '@fastify/cors'
import { extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js'
import type { FastifyInstance } from 'fastify'
import { SignJWT } from 'jose'
import t from 'tap'
import type { Test } from 'tap'
import { bearerAuth } from '../src/index.js'
import {
  ISSUER,
  METADATA,
  RESOURCE,
  accessToken,
  bearer,
  buildApp,
  standardVerifier,
  tableVerifier,
} from './fixtures/app.js'

const RM = `resource_metadata="${METADATA}"`
const PREFLIGHT = { origin: 'https://app.example.com', 'access-control-request-method': 'GET' }

/** Routes that answer OPTIONS themselves, counting every run of a handler. */
function addOptionsRoutes(app: FastifyInstance): { runs: string[] } {
  const runs: string[] = []
  app.all('/admin', async (request) => {
    runs.push(`all ${request.method}`)
    return { secret: 'admin data' }
  })
  app.route({
    method: ['GET', 'OPTIONS'],
    url: '/both',
    handler: async (request) => {
      runs.push(`route ${request.method}`)
      return { secret: 'both data' }
    },
  })
  app.options('/opt', async () => {
    runs.push('options')
    return { secret: 'options data' }
  })
  return { runs }
}

t.test('CORS preflight skip runs user handlers unauthenticated', async (t) => {
  const probes = ['/admin', '/both', '/opt']

  t.test('without a CORS layer: the preflight is authenticated', async (t) => {
    const { app } = buildApp(t)
    await app.register(bearerAuth, { verifier: standardVerifier(), realm: 'api' })
    const { runs } = addOptionsRoutes(app)
    for (const url of probes) {
      for (const headers of [PREFLIGHT, { 'access-control-request-method': 'GET' }]) {
        const res = await app.inject({ method: 'OPTIONS', url, headers })
        t.equal(res.statusCode, 401, url)
        t.equal(res.headers['www-authenticate'], 'Bearer realm="api"', url)
        t.notMatch(res.body, 'data', url)
      }
    }
    t.same(runs, [], 'no handler ran without a token')
    const withToken = await app.inject({
      method: 'OPTIONS',
      url: '/admin',
      headers: { ...PREFLIGHT, ...bearer('good') },
    })
    t.equal(withToken.statusCode, 200, 'with a token the handler runs')
    t.same(runs, ['all OPTIONS'])
  })

  for (const order of ['before', 'after'] as const) {
    t.test(`@fastify/cors registered ${order} the plugin answers browser preflights`, async (t) => {
      const { app } = buildApp(t)
      if (order === 'before') await app.register(cors, { origin: 'https://app.example.com' })
      await app.register(bearerAuth, { verifier: standardVerifier(), realm: 'api' })
      if (order === 'after') await app.register(cors, { origin: 'https://app.example.com' })
      const { runs } = addOptionsRoutes(app)
      app.get('/data', async () => ({ secret: 'data' }))
      for (const url of [...probes, '/data']) {
        const res = await app.inject({ method: 'OPTIONS', url, headers: PREFLIGHT })
        t.equal(res.statusCode, 204, url)
        t.equal(res.headers['access-control-allow-origin'], 'https://app.example.com', url)
        t.equal(res.body, '', url)
      }
      t.same(runs, [], 'no handler ran for a preflight')
      const anonymous = await app.inject({ url: '/admin' })
      t.equal(anonymous.statusCode, 401)
      const other = await app.inject({
        method: 'OPTIONS',
        url: '/admin',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
      })
      t.equal(other.statusCode, 204, 'CORS answers (the browser compares the origin)')
      t.not(other.headers['access-control-allow-origin'], 'https://evil.example')
      t.same(runs, [])
    })
  }

  t.test('@fastify/cors with preflightContinue lets the handler run: authenticated', async (t) => {
    const { app } = buildApp(t)
    await app.register(cors, { origin: '*', preflightContinue: true })
    await app.register(bearerAuth, { verifier: standardVerifier() })
    const { runs } = addOptionsRoutes(app)
    const res = await app.inject({ method: 'OPTIONS', url: '/admin', headers: PREFLIGHT })
    t.equal(res.statusCode, 401)
    t.same(runs, [])
  })
})

async function hs256Token(secret: Uint8Array, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ client_id: 'client-1', scope: 'read', ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(secret)
}

t.test('A resource claim stands in for aud', async (t) => {
  const secret = new TextEncoder().encode('a shared secret of at least 32 bytes!!')
  const verifier = createJwtVerifier({
    issuer: ISSUER,
    audience: null,
    key: secret,
    algorithms: ['HS256'],
  })
  const { app } = buildApp(t)
  await app.register(bearerAuth, {
    verifier,
    realm: 'api',
    resource: { url: RESOURCE, authorizationServers: [ISSUER] },
  })
  app.get('/data', async () => ({ secret: 'data' }))
  const foreign = await hs256Token(secret, {
    aud: 'https://other-rs.example.com/',
    resource: RESOURCE,
  })
  const res = await app.inject({ url: '/data', headers: bearer(foreign) })
  t.equal(res.statusCode, 401)
  t.equal(
    res.headers['www-authenticate'],
    `Bearer realm="api", error="invalid_token", error_description="The access token is not meant for this resource", ${RM}`,
  )
  const noAud = await hs256Token(secret, { resource: RESOURCE })
  t.equal((await app.inject({ url: '/data', headers: bearer(noAud) })).statusCode, 401, 'no aud')
  const ours = await hs256Token(secret, { aud: RESOURCE })
  t.equal((await app.inject({ url: '/data', headers: bearer(ours) })).statusCode, 200, 'aud')
})

t.test('RFC 6750 §3.1: another scheme is not a malformed request', async (t) => {
  const { app } = buildApp(t)
  const verifier = standardVerifier()
  await app.register(bearerAuth, {
    verifier,
    realm: 'api',
    requiredScopes: ['read'],
    resource: { url: RESOURCE, authorizationServers: [ISSUER] },
  })
  app.get('/data', async () => ({ secret: 'data' }))
  for (const authorization of [
    'Basic dXNlcjpwYXNz',
    'Digest username="u", realm="r", nonce="n", uri="/data", response="x"',
    'Negotiate YIIC',
    'bearerx good',
    'Token',
  ]) {
    const res = await app.inject({ url: '/data', headers: { authorization } })
    t.equal(res.statusCode, 401, authorization)
    t.equal(res.headers['www-authenticate'], `Bearer realm="api", scope="read", ${RM}`)
    t.same(res.json(), { error: 'unauthorized', error_description: 'Authentication is required' })
  }
  const malformed = await app.inject({ url: '/data', headers: { authorization: 'Bearer a b' } })
  t.equal(malformed.statusCode, 400, 'a malformed Bearer header stays 400')
  t.same(verifier.calls, [])
})

async function scopeApp(t: Test) {
  const { app, logs } = buildApp(t)
  await app.register(bearerAuth, {
    verifier: tableVerifier({ good: accessToken('good', { scopes: ['read', 'mcp:tools'] }) }),
    realm: 'api',
    requiredScopes: ['read'],
    resource: { url: RESOURCE, authorizationServers: [ISSUER] },
  })
  app.get('/handler', async () => {
    throw new InsufficientScopeError(['mcp:tools', 'admin'])
  })
  app.get(
    '/hook',
    {
      preHandler: async () => {
        throw new InsufficientScopeError(['mcp:tools', 'admin'])
      },
    },
    async () => 'never',
  )
  app.get('/invalid', async () => {
    throw new InvalidTokenError('The access token was revoked')
  })
  return { app, logs }
}

const SCOPE_CHALLENGE = `Bearer realm="api", error="insufficient_scope", error_description="The access token lacks a required scope", scope="mcp:tools admin", ${RM}`

t.test('A scope error thrown by the application loses its challenge', async (t) => {
  const { app } = await scopeApp(t)
  for (const url of ['/handler', '/hook']) {
    const res = await app.inject({ url, headers: bearer('good') })
    t.equal(res.statusCode, 403, url)
    t.equal(res.headers['www-authenticate'], SCOPE_CHALLENGE, url)
    t.equal(res.headers['cache-control'], 'no-store', url)
    t.equal(
      res.body,
      '{"error":"insufficient_scope","error_description":"The access token lacks a required scope"}',
      url,
    )
    // The MCP TypeScript SDK reads the challenge to step up.
    const params = extractWWWAuthenticateParams(
      new Response(null, {
        headers: { 'www-authenticate': String(res.headers['www-authenticate']) },
      }),
    )
    t.equal(params.error, 'insufficient_scope', url)
    t.equal(params.scope, 'mcp:tools admin', url)
    t.equal(params.resourceMetadataUrl?.href, METADATA, url)
  }
  const invalid = await app.inject({ url: '/invalid', headers: bearer('good') })
  t.equal(invalid.statusCode, 401)
  t.equal(
    invalid.headers['www-authenticate'],
    `Bearer realm="api", error="invalid_token", error_description="The access token was revoked", scope="read", ${RM}`,
  )
  t.same(invalid.json(), {
    error: 'invalid_token',
    error_description: 'The access token was revoked',
  })
})

t.test('an application error handler that writes its own body keeps it', async (t) => {
  const { app } = buildApp(t)
  app.setErrorHandler((error, _request, reply) => {
    if (isBearerError(error)) return reply.code(error.statusCode).send({ mine: error.code })
    return reply.send(error)
  })
  await app.register(bearerAuth, {
    verifier: tableVerifier({ good: accessToken('good') }),
    resource: { url: RESOURCE, authorizationServers: [ISSUER] },
  })
  app.get('/handler', async () => {
    throw new InsufficientScopeError(['admin'])
  })
  const res = await app.inject({ url: '/handler', headers: bearer('good') })
  t.equal(res.statusCode, 403)
  t.same(res.json(), { mine: 'ERR_INSUFFICIENT_SCOPE' })
  t.equal(res.headers['www-authenticate'], undefined, 'nothing added to an answer not ours')
})
