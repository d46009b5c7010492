// Red-team tests of the onRequest hook going on a microtask after a decision made at once (a
// verified-token cache miss in front of a synchronous verifier now is one): later hooks that call
// done twice, send or hijack the reply, an error handler that throws on a refusal, and pipelined
// requests on one connection must answer exactly as when the hook went on at once, never run a
// handler for a refused request, and never crash the process.
import { connect } from 'node:net'
import { createCachedVerifier, verifyTokenNow, type TokenVerifier } from '@bearerkit/core'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { Test } from 'tap'
import {
  TOKENS,
  conformanceOptions,
  conformanceVerifier,
} from '../../http/test/fixtures/conformance.js'
import { bearerAuth } from '../src/index.js'
import { bearer, buildApp } from './fixtures/app.js'

const CHALLENGE_401 =
  'Bearer realm="api", error="invalid_token", error_description="The signature does not verify", scope="read", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"'
const BODY_401 = { error: 'invalid_token', error_description: 'The signature does not verify' }
const CHALLENGE_400 =
  'Bearer realm="api", error="invalid_request", error_description="The bearer token is malformed", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"'

// A cold cache in front of the table's synchronous verifier: every first use is a miss decided at
// once, the path these tests are about.
function coldCache(): TokenVerifier {
  const verifier = createCachedVerifier(conformanceVerifier())
  const probe = createCachedVerifier(conformanceVerifier())
  const answer = verifyTokenNow(probe, TOKENS.good)
  if (answer === null || typeof (answer as { then?: unknown }).then === 'function') {
    throw new Error('a miss on the synchronous verifier should answer at once')
  }
  return verifier
}

async function app(t: Test, later?: (app: FastifyInstance, seen: string[]) => void) {
  const { app } = buildApp(t)
  await app.register(bearerAuth, { ...conformanceOptions(), verifier: coldCache() })
  const seen: string[] = []
  later?.(app, seen)
  app.get('/mcp', async (request) => {
    seen.push(`handler ${request.accessToken?.clientId ?? 'anonymous'}`)
    return { client: request.accessToken?.clientId }
  })
  return { app, seen }
}

const get = (token: string) => ({ method: 'GET' as const, url: '/mcp', headers: bearer(token) })

// Calling done twice runs the rest twice (Fastify's way, with the hook going on at once as well):
// the decision made for the request holds for both runs, and a refused request runs neither.
t.test('a later hook that calls done twice: the decision holds for both runs', async (t) => {
  const { app: server, seen } = await app(t, (app, seen) => {
    app.addHook('onRequest', (request, _reply, done) => {
      seen.push(`hook ${request.accessToken?.clientId ?? 'anonymous'}`)
      done()
      done()
    })
  })
  const ok = await server.inject(get(TOKENS.good))
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { client: 'client-1' })
  const refused = await server.inject(get(TOKENS.forged))
  t.equal(refused.statusCode, 401)
  t.equal(refused.headers['www-authenticate'], CHALLENGE_401)
  t.same(refused.json(), BODY_401)
  t.same(
    seen,
    ['hook client-1', 'handler client-1', 'handler client-1'],
    'nothing ran for the refused request',
  )
})

t.test('a later hook that throws after done: Fastify answers its error', async (t) => {
  const { app: server, seen } = await app(t, (app, seen) => {
    app.addHook('onRequest', (_request, _reply, done): void => {
      seen.push('hook')
      done()
      throw new Error('after done')
    })
  })
  const ok = await server.inject(get(TOKENS.good))
  t.equal(ok.statusCode, 500)
  t.equal(ok.json<{ message: string }>().message, 'after done')
  t.equal(ok.headers['www-authenticate'], undefined)
  const refused = await server.inject(get(TOKENS.forged))
  t.equal(refused.statusCode, 401)
  t.equal(refused.headers['www-authenticate'], CHALLENGE_401)
  t.same(seen, ['hook', 'handler client-1'], 'the refused request reached neither')
})

t.test('a later hook that answers itself: its answer, no handler', async (t) => {
  for (const callsDone of [true, false]) {
    const { app: server, seen } = await app(t, (app, seen) => {
      app.addHook('onRequest', (request, reply, done) => {
        seen.push(`hook ${request.accessToken?.clientId ?? 'anonymous'}`)
        void reply.code(418).send('teapot')
        if (callsDone) done()
      })
    })
    const ok = await server.inject(get(TOKENS.good))
    t.equal(ok.statusCode, 418)
    t.equal(ok.body, 'teapot')
    const refused = await server.inject(get(TOKENS.forged))
    t.equal(refused.statusCode, 401, 'a refusal never reaches the later hook')
    t.equal(refused.headers['www-authenticate'], CHALLENGE_401)
    t.same(seen, ['hook client-1'])
  }
})

t.test('a later hook that hijacks the reply: its answer, no handler', async (t) => {
  const { app: server, seen } = await app(t, (app, seen) => {
    app.addHook('onRequest', (request, reply, done) => {
      seen.push(`hook ${request.accessToken?.clientId ?? 'anonymous'}`)
      reply.hijack()
      reply.raw.end('hijacked')
      done()
    })
  })
  const ok = await server.inject(get(TOKENS.good))
  t.equal(ok.statusCode, 200)
  t.equal(ok.body, 'hijacked')
  const refused = await server.inject(get(TOKENS.forged))
  t.equal(refused.statusCode, 401)
  t.same(seen, ['hook client-1'])
})

t.test('an error handler that throws on a refusal decided at once: 500, app alive', async (t) => {
  const { app: server, seen } = await app(t, (app, seen) => {
    app.setErrorHandler((error: { statusCode?: number }) => {
      seen.push(`error handler ${String(error.statusCode)}`)
      throw new Error('error handler failed')
    })
  })
  for (const [token, status] of [
    [TOKENS.forged, 401],
    ['not a token!', 400],
  ] as const) {
    const res = await server.inject(get(token))
    t.equal(res.statusCode, 500)
    t.equal(res.json<{ message: string }>().message, 'error handler failed')
    t.equal(res.headers['www-authenticate'], undefined, 'the application answered, not the plugin')
    t.equal(seen.pop(), `error handler ${status}`)
  }
  const ok = await server.inject(get(TOKENS.good))
  t.equal(ok.statusCode, 200, 'the app lives on')
  t.same(seen, ['handler client-1'])
})

t.test('an error handler that answers a refusal itself keeps its answer', async (t) => {
  const { app: server, seen } = await app(t, (app) => {
    app.setErrorHandler(async (error: { statusCode?: number }, _request, reply) => {
      return reply.code(error.statusCode ?? 500).send({ custom: true })
    })
  })
  const refused = await server.inject(get(TOKENS.forged))
  t.equal(refused.statusCode, 401)
  t.same(refused.json(), { custom: true })
  const malformed = await server.inject(get('not a token!'))
  t.equal(malformed.statusCode, 400)
  t.same(malformed.json(), { custom: true })
  t.same(seen, [])
})

t.test('pipelined requests of one read each get their own decision, in order', async (t) => {
  const { app: server, seen } = await app(t, (app, seen) => {
    app.addHook('onRequest', (request, _reply, done) => {
      seen.push(`hook ${String(request.headers['x-n'])} ${request.accessToken?.clientId ?? '-'}`)
      done()
    })
  })
  await server.listen({ port: 0, host: '127.0.0.1' })
  const { port } = server.server.address() as { port: number }
  const tokens = [TOKENS.good, TOKENS.forged, TOKENS.good, TOKENS.expired, 'a b', TOKENS.admin]
  const raw = tokens
    .map(
      (token, n) =>
        `GET /mcp HTTP/1.1\r\nHost: api.example.com\r\nx-n: ${n}\r\nAuthorization: Bearer ${token}\r\n` +
        (n === tokens.length - 1 ? 'Connection: close\r\n' : '') +
        '\r\n',
    )
    .join('')
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end(raw)
    })
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      text += chunk
    })
    socket.on('end', () => {
      resolve(text)
    })
    socket.on('error', reject)
  })
  t.same(
    [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1])),
    [200, 401, 200, 401, 400, 200],
  )
  t.same(
    [...answer.matchAll(/^WWW-Authenticate: (.*)\r$/gim)].map((match) => match[1]),
    [
      CHALLENGE_401,
      'Bearer realm="api", error="invalid_token", error_description="The access token expired", scope="read", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"',
      CHALLENGE_400,
    ],
  )
  t.same(seen, [
    'hook 0 client-1',
    'handler client-1',
    'hook 2 client-1',
    'handler client-1',
    'hook 5 client-1',
    'handler client-1',
  ])
})
