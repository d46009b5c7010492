import { isBearerError, Refusal, VerifierUnavailableError } from '@bearerkit/core'
import type { FastifyReply } from 'fastify'
import t from 'tap'
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
import type { Test } from 'tap'
import type { BearerAuthOptions } from '../src/index.js'

const RM = `resource_metadata="${METADATA}"`

async function protectedApp(t: Test, options: Partial<BearerAuthOptions> = {}) {
  const { app, logs } = buildApp(t)
  const verifier = standardVerifier()
  await app.register(bearerAuth, {
    verifier,
    resource: { url: RESOURCE, authorizationServers: [ISSUER] },
    realm: 'api',
    requiredScopes: ['read'],
    ...options,
  })
  app.get('/data', async (request) => ({
    client: request.accessToken?.clientId,
    principal: request.principal,
  }))
  app.get('/admin', { config: { bearer: { scopes: ['admin'] } } }, async () => ({ ok: true }))
  app.get('/health', { config: { bearer: false } }, async (request) => ({
    ok: true,
    token: request.accessToken,
    principal: request.principal,
  }))
  app.post('/form', async () => ({ ok: true }))
  await app.ready()
  return { app, logs, verifier }
}

t.test('a valid token reaches the handler with accessToken and principal', async (t) => {
  const { app } = await protectedApp(t)
  const res = await app.inject({ url: '/data', headers: bearer('good') })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { client: 'client-1', principal: ['client-1', ISSUER, 'alice'] })
  t.equal(res.headers['www-authenticate'], undefined)
})

t.test('no credentials: 401, challenge without error, scope and resource_metadata', async (t) => {
  const { app, verifier } = await protectedApp(t)
  const res = await app.inject({ url: '/data' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], `Bearer realm="api", scope="read", ${RM}`)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(res.body, '{"error":"unauthorized","error_description":"Authentication is required"}')
  t.same(verifier.calls, [])

  const empty = await app.inject({ url: '/data', headers: { authorization: '' } })
  t.equal(empty.statusCode, 401, 'an empty header is no credentials')
  t.equal(empty.headers['www-authenticate'], `Bearer realm="api", scope="read", ${RM}`)
})

t.test('no credentials without realm, scopes or resource: the bare scheme', async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, { verifier: standardVerifier() })
  app.get('/', async () => 'ok')
  const res = await app.inject({ url: '/' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer')
})

t.test('malformed Authorization headers: 400 invalid_request', async (t) => {
  const { app, verifier } = await protectedApp(t)
  const cases: [string | string[], string][] = [
    ['Bearer', 'The Authorization header carries no token'],
    ['Bearer ', 'The Authorization header carries no token'],
    ['Bearer a b', 'The bearer token is malformed'],
    ['Bearer tök', 'The bearer token is malformed'],
    ['Bearer "good"', 'The bearer token is malformed'],
    ['Bearer good, Bearer admin', 'The Authorization header must be sent once'],
    ['(bad) scheme', 'The Authorization header is malformed'],
    ['Bearer ' + 'a'.repeat(100 * 1024), 'The Authorization header is too large'],
    [['Bearer good', 'Bearer admin'], 'The Authorization header must be sent once'],
  ]
  for (const [authorization, description] of cases) {
    const res = await app.inject({
      url: '/data',
      headers: { authorization } as Record<string, string>,
    })
    t.equal(res.statusCode, 400, description)
    t.equal(
      res.headers['www-authenticate'],
      `Bearer realm="api", error="invalid_request", error_description="${description}", ${RM}`,
    )
    t.equal(res.body, JSON.stringify({ error: 'invalid_request', error_description: description }))
  }
  t.same(verifier.calls, [], 'the verifier never saw a malformed header')
})

t.test('the scheme is case-insensitive (RFC 7235 §2.1)', async (t) => {
  const { app } = await protectedApp(t)
  for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
    const res = await app.inject({ url: '/data', headers: { authorization: `${scheme} good` } })
    t.equal(res.statusCode, 200, scheme)
  }
})

t.test('a token longer than maxTokenLength is invalid_request', async (t) => {
  const { app } = await protectedApp(t, { maxTokenLength: 8 })
  const res = await app.inject({ url: '/data', headers: bearer('a'.repeat(9)) })
  t.equal(res.statusCode, 400)
  t.match(res.headers['www-authenticate'], 'error_description="The bearer token is too large"')
})

t.test('tokens in the query string are refused, with or without the header', async (t) => {
  const { app, verifier } = await protectedApp(t)
  const description = 'Access tokens are not accepted in the query string'
  for (const [url, headers] of [
    ['/data?access_token=good', {}],
    ['/data?x=1&access_token=good', bearer('good')],
    ['/data?access_token=', {}],
    ['/data?access%5Ftoken=good', {}],
  ] as const) {
    const res = await app.inject({ url, headers })
    t.equal(res.statusCode, 400, url)
    t.equal(
      res.headers['www-authenticate'],
      `Bearer realm="api", error="invalid_request", error_description="${description}", ${RM}`,
    )
    t.same(res.json(), { error: 'invalid_request', error_description: description })
  }
  const other = await app.inject({
    url: '/data?token=good&access_tokens=1',
    headers: bearer('good'),
  })
  t.equal(other.statusCode, 200, 'other parameters are fine')
  t.same(verifier.calls, ['good'])
})

t.test('invalid tokens: 401 invalid_token with the refusal description', async (t) => {
  const { app } = await protectedApp(t)
  const cases: [string, string][] = [
    ['expired', 'The access token expired'],
    ['unknown', 'The signature does not verify'],
    ['elsewhere', 'The access token is not meant for this resource'],
    ['noaud', 'The access token is not meant for this resource'],
  ]
  for (const [token, description] of cases) {
    const res = await app.inject({ url: '/data', headers: bearer(token) })
    t.equal(res.statusCode, 401, token)
    t.equal(
      res.headers['www-authenticate'],
      `Bearer realm="api", error="invalid_token", error_description="${description}", scope="read", ${RM}`,
    )
    t.equal(res.body, JSON.stringify({ error: 'invalid_token', error_description: description }))
  }
})

t.test('a resource claim never stands in for aud', async (t) => {
  const { app } = await protectedApp(t)
  const res = await app.inject({ url: '/data', headers: bearer('bound') })
  t.equal(res.statusCode, 401)
  t.equal(
    res.headers['www-authenticate'],
    `Bearer realm="api", error="invalid_token", error_description="The access token is not meant for this resource", scope="read", ${RM}`,
  )
})

t.test('audience option: explicit values, origin-only resources and null', async (t) => {
  t.test('explicit audience replaces the resource url', async (t) => {
    const { app } = await protectedApp(t, { audience: 'https://other.example.com/' })
    t.equal((await app.inject({ url: '/data', headers: bearer('elsewhere') })).statusCode, 200)
    t.equal((await app.inject({ url: '/data', headers: bearer('good') })).statusCode, 401)
  })
  t.test('null leaves audience to the verifier', async (t) => {
    const { app } = await protectedApp(t, { audience: null })
    t.equal((await app.inject({ url: '/data', headers: bearer('elsewhere') })).statusCode, 200)
    t.equal((await app.inject({ url: '/data', headers: bearer('noaud') })).statusCode, 200)
  })
  t.test('an origin-only resource matches with and without the slash', async (t) => {
    const { app } = buildApp(t)
    const verifier = tableVerifier({
      slash: accessToken('slash', { audience: ['https://api.example.com/'] }),
      bare: accessToken('bare', { audience: ['https://api.example.com'] }),
      path: accessToken('path', { audience: ['https://api.example.com/mcp'] }),
    })
    await app.register(bearerAuth, {
      verifier,
      resource: { url: 'https://api.example.com', authorizationServers: [ISSUER] },
    })
    app.get('/', async () => 'ok')
    t.equal((await app.inject({ url: '/', headers: bearer('slash') })).statusCode, 200)
    t.equal((await app.inject({ url: '/', headers: bearer('bare') })).statusCode, 200)
    const res = await app.inject({ url: '/', headers: bearer('path') })
    t.equal(res.statusCode, 401)
    t.equal(
      res.headers['www-authenticate'],
      'Bearer error="invalid_token", error_description="The access token is not meant for this resource", ' +
        'resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"',
    )
  })
})

t.test('missing scope: 403 insufficient_scope listing every scope the route needs', async (t) => {
  const { app } = await protectedApp(t)
  const res = await app.inject({ url: '/admin', headers: bearer('good') })
  t.equal(res.statusCode, 403)
  t.equal(
    res.headers['www-authenticate'],
    `Bearer realm="api", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read admin", ${RM}`,
  )
  t.equal(
    res.body,
    '{"error":"insufficient_scope","error_description":"The access token lacks a required scope"}',
  )
  t.equal((await app.inject({ url: '/admin', headers: bearer('admin') })).statusCode, 200)
})

t.test('verifier unavailable: 503 with Retry-After, never 401', async (t) => {
  const { app } = await protectedApp(t)
  const res = await app.inject({ url: '/data', headers: bearer('down') })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '30')
  t.equal(res.headers['www-authenticate'], undefined)
  t.equal(
    res.body,
    '{"error":"temporarily_unavailable","error_description":"The token verifier is unavailable"}',
    'the verifier message (internal hosts) is not sent',
  )
  const quiet = await app.inject({ url: '/data', headers: bearer('downquiet') })
  t.equal(quiet.statusCode, 503)
  t.equal(quiet.headers['retry-after'], '5', 'the default retryAfter')
  const broken = await app.inject({ url: '/data', headers: bearer('broken') })
  t.equal(broken.statusCode, 503, 'a verifier that throws something else is not a 401')
  t.equal(broken.headers['retry-after'], '5')
})

t.test('retryAfter option', async (t) => {
  const { app } = await protectedApp(t, { retryAfter: 0 })
  const res = await app.inject({ url: '/data', headers: bearer('downquiet') })
  t.equal(res.headers['retry-after'], '0')
})

t.test('a verifier that returns null without a refusal', async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, { verifier: { verifyToken: async () => null } })
  app.get('/', async () => 'ok')
  const res = await app.inject({ url: '/', headers: bearer('x') })
  t.equal(res.statusCode, 401)
  t.equal(
    res.headers['www-authenticate'],
    'Bearer error="invalid_token", error_description="The access token is invalid"',
  )
})

t.test('challenge values are escaped and cannot split the header', async (t) => {
  const { app } = buildApp(t)
  const verifier = tableVerifier({
    quote: new Refusal('invalid_claim', 'Claim "aud" is \\wrong\\'),
    crlf: new Refusal('invalid_claim', 'line\r\nSet-Cookie: x=1 ünïcode'),
  })
  await app.register(bearerAuth, { verifier, realm: 'my "quoted" \\ realm' })
  app.get('/', async () => 'ok')
  const quote = await app.inject({ url: '/', headers: bearer('quote') })
  t.equal(
    quote.headers['www-authenticate'],
    'Bearer realm="my \\"quoted\\" \\\\ realm", error="invalid_token", error_description="Claim \\"aud\\" is \\\\wrong\\\\"',
  )
  t.same(quote.json(), { error: 'invalid_token', error_description: 'Claim "aud" is \\wrong\\' })
  const crlf = await app.inject({ url: '/', headers: bearer('crlf') })
  t.equal(
    crlf.headers['www-authenticate'],
    'Bearer realm="my \\"quoted\\" \\\\ realm", error="invalid_token", error_description="line??Set-Cookie: x=1 ?n?code"',
  )
  t.equal(crlf.headers['set-cookie'], undefined)
})

t.test('exposeErrorDescription: false sends codes only', async (t) => {
  const { app } = await protectedApp(t, { exposeErrorDescription: false })
  const res = await app.inject({ url: '/data', headers: bearer('expired') })
  t.equal(res.statusCode, 401)
  t.equal(
    res.headers['www-authenticate'],
    `Bearer realm="api", error="invalid_token", scope="read", ${RM}`,
  )
  t.equal(res.body, '{"error":"invalid_token"}')
  const missing = await app.inject({ url: '/data' })
  t.equal(missing.body, '{"error":"unauthorized"}')
})

t.test('public routes skip authentication; preflights without a CORS layer do not', async (t) => {
  const { app, verifier } = await protectedApp(t)
  const res = await app.inject({ url: '/health', headers: bearer('expired') })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { ok: true, token: null, principal: null })
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/data',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
  })
  t.equal(preflight.statusCode, 401, 'nobody answers it before a handler runs: authenticated')
  t.equal(preflight.headers['www-authenticate'], `Bearer realm="api", scope="read", ${RM}`)
  const options = await app.inject({ method: 'OPTIONS', url: '/data' })
  t.equal(options.statusCode, 401, 'a plain OPTIONS request is not a preflight')
  t.same(verifier.calls, [])
})

t.test('unknown routes inside the protected scope are protected too', async (t) => {
  const { app } = await protectedApp(t)
  const anonymous = await app.inject({ url: '/nope' })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.headers['www-authenticate'], `Bearer realm="api", scope="read", ${RM}`)
  t.equal(
    anonymous.body,
    '{"error":"unauthorized","error_description":"Authentication is required"}',
  )
  t.equal((await app.inject({ url: '/nope', headers: bearer('good') })).statusCode, 404)
})

t.test('a user error handler sees the BearerError and renders it', async (t) => {
  const { app } = buildApp(t)
  const seen: unknown[] = []
  app.setErrorHandler((error, _request, reply) => {
    seen.push(error)
    if (isBearerError(error)) {
      return reply
        .code(error.statusCode)
        .headers(error.headers ?? {})
        .send({ mine: error.code, reason: (error as { reason?: string }).reason })
    }
    return reply.code(500).send({ mine: 'other' })
  })
  await app.register(bearerAuth, { verifier: standardVerifier(), realm: 'api' })
  app.get('/', async () => 'ok')
  const res = await app.inject({ url: '/', headers: bearer('expired') })
  t.equal(res.statusCode, 401)
  t.equal(
    res.headers['www-authenticate'],
    'Bearer realm="api", error="invalid_token", error_description="The access token expired"',
  )
  t.same(res.json(), { mine: 'ERR_INVALID_TOKEN', reason: 'expired' })
  const missing = await app.inject({ url: '/' })
  t.same(missing.json(), { mine: 'ERR_MISSING_TOKEN' })
  const down = await app.inject({ url: '/', headers: bearer('down') })
  t.equal(down.statusCode, 503)
  t.equal(down.headers['retry-after'], '30')
  t.same(down.json(), { mine: 'ERR_VERIFIER_UNAVAILABLE', reason: 'timeout' })
  t.equal(seen.length, 3)
  t.ok(seen.every(isBearerError))
  const cause = (seen[2] as Error).cause as Error
  t.equal(cause.message, 'JWKS at https://internal.example/jwks timed out', 'cause kept')
})

t.test('a user error handler that passes the error on still gets the plugin body', async (t) => {
  const { app } = buildApp(t)
  let calls = 0
  app.setErrorHandler((error, _request, reply) => {
    calls++
    return reply.send(error)
  })
  await app.register(bearerAuth, { verifier: standardVerifier() })
  app.get('/', async () => 'ok')
  const res = await app.inject({ url: '/', headers: bearer('expired') })
  t.equal(calls, 1)
  t.equal(res.statusCode, 401)
  t.equal(res.body, '{"error":"invalid_token","error_description":"The access token expired"}')
  t.equal(res.headers['content-length'], String(Buffer.byteLength(res.body)))
})

t.test('application errors and replies are not rewritten', async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, { verifier: standardVerifier() })
  app.get('/boom', async () => {
    throw Object.assign(new Error('The access token expired'), { statusCode: 401 })
  })
  app.get('/text', async (_request, reply) =>
    reply.code(401).send('{"statusCode":401,"code":"ERR_INVALID_TOKEN","error":"x","message":"m"}'),
  )
  const boom = await app.inject({ url: '/boom', headers: bearer('good') })
  t.equal(boom.statusCode, 401)
  t.same(boom.json(), {
    statusCode: 401,
    error: 'Unauthorized',
    message: 'The access token expired',
  })
  const text = await app.inject({ url: '/text', headers: bearer('good') })
  t.equal(text.body, '{"statusCode":401,"code":"ERR_INVALID_TOKEN","error":"x","message":"m"}')
})

t.test('bodies a user error handler writes itself are never rewritten', async (t) => {
  const { app } = buildApp(t)
  const bodies: Record<string, (reply: FastifyReply) => unknown> = {
    buffer: (reply) => reply.type('application/json').send(Buffer.from('{"a":1}')),
    text: (reply) => reply.type('text/plain').send('denied'),
    array: (reply) => reply.send([1, 2]),
    null: (reply) => reply.type('application/json').send('null'),
    lookalike: (reply) =>
      reply.send({ statusCode: 401, code: 'ERR_INVALID_TOKEN', error: 'x', message: 'other' }),
  }
  app.setErrorHandler((error, request, reply) => {
    reply.code((error as { statusCode: number }).statusCode)
    return bodies[request.headers['x-kind'] as string]?.(reply)
  })
  await app.register(bearerAuth, { verifier: standardVerifier() })
  app.get('/', async () => 'ok')
  const expected: Record<string, string> = {
    buffer: '{"a":1}',
    text: 'denied',
    array: '[1,2]',
    null: 'null',
    lookalike: '{"statusCode":401,"code":"ERR_INVALID_TOKEN","error":"x","message":"other"}',
  }
  for (const [kind, body] of Object.entries(expected)) {
    const res = await app.inject({ url: '/', headers: { ...bearer('expired'), 'x-kind': kind } })
    t.equal(res.statusCode, 401, kind)
    t.equal(res.body, body, kind)
  }
})

t.test('odd verifier failures: no reason, a thrown string, an error with a code', async (t) => {
  const { app, logs } = buildApp(t)
  const verifier = {
    async verifyToken(token: string) {
      if (token === 'noreason') throw new VerifierUnavailableError()
      if (token === 'string') throw 'nope' as unknown as Error
      throw Object.assign(new Error('x'), { code: 'ECONNRESET' })
    },
  }
  await app.register(bearerAuth, { verifier })
  app.get('/', async () => 'ok')
  for (const token of ['noreason', 'string', 'coded']) {
    const res = await app.inject({ url: '/', headers: bearer(token) })
    t.equal(res.statusCode, 503, token)
  }
  const entries = logs
    .records()
    .map((r) => r.bearer)
    .filter((b) => b !== undefined)
  t.same(entries, [
    { reason: 'verifier_unavailable:unavailable', statusCode: 503 },
    { reason: 'verifier_error', statusCode: 503, errorName: 'string' },
    { reason: 'verifier_error', statusCode: 503, errorName: 'Error', errorCode: 'ECONNRESET' },
  ])
})

t.test('options given as a function must still be an object', async (t) => {
  const { app } = buildApp(t)
  await t.rejects(
    async () => {
      await app.register(bearerAuth, (() => 'nope') as unknown as BearerAuthOptions)
    },
    { code: 'ERR_INVALID_ARG_VALUE', message: 'options must be an object with a verifier' },
  )
})

t.test('two Authorization headers over real HTTP are invalid_request', async (t) => {
  const { app } = await protectedApp(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const { request } = await import('node:http')
  const send = (headers: string[]): Promise<{ status: number; challenge: string | undefined }> =>
    new Promise((resolve, reject) => {
      // A flat raw header list: Node sends both lines as given.
      const raw = ['Host', `127.0.0.1:${port}`, ...headers]
      const req = request({ host: '127.0.0.1', port, path: '/data', headers: raw }, (res) => {
        res.resume()
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'] }),
        )
      })
      req.on('error', reject)
      req.end()
    })
  // Node keeps only the first Authorization in request.headers; the plugin reads rawHeaders.
  const twice = await send(['Authorization', 'Bearer good', 'authorization', 'Bearer admin'])
  t.equal(twice.status, 400)
  t.equal(
    twice.challenge,
    `Bearer realm="api", error="invalid_request", error_description="The Authorization header must be sent once", ${RM}`,
  )
  const once = await send(['Authorization', 'Bearer good'])
  t.equal(once.status, 200)
})
