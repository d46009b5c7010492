import { inspect } from 'node:util'
import { isVerifierUnavailable } from '@bearerkit/core'
import nock from 'nock'
import t from 'tap'
import { createIntrospectionVerifier } from '../src/index.js'
import { activeAnswer, baseOptions, newToken, verify, NOW } from './fixtures/common.js'
import { backoff } from '../src/lib/introspect.js'
import { startServer, useNock } from './fixtures/net.js'

const AS = 'https://as.example.com'
const PATH = '/oauth/introspect'
const JSON_TYPE = { 'content-type': 'application/json' }

async function failure(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: unknown) => e,
  )
  if (!isVerifierUnavailable(error)) throw error as Error
  return error as unknown as Record<string, unknown>
}

t.test('a failure is VerifierUnavailableError, never null, and is not cached', async (t) => {
  useNock(t)
  const token = newToken()
  const scope = nock(AS)
    .post(PATH)
    .reply(500, 'oops')
    .post(PATH)
    .reply(200, activeAnswer(), JSON_TYPE)
  const verifier = createIntrospectionVerifier(baseOptions())
  const error = await failure(verifier.verifyToken(token))
  t.match(error, { reason: 'status', statusCode: 503, retryAfter: 5 })
  t.match((error as { headers: Record<string, string> }).headers, { 'retry-after': '5' })
  t.equal(verifier.size, 0, 'nothing cached')
  // the next call asks again and gets the real answer
  t.equal((await verifier.verifyToken(token))?.clientId, 'mcp-client')
  t.ok(scope.isDone())
})

t.test('HTML error pages are unavailable, whatever their status', async (t) => {
  useNock(t)
  const html = '<!doctype html><html><body><h1>Bad Gateway</h1></body></html>'
  nock(AS)
    .post(PATH)
    .reply(200, html, { 'content-type': 'text/html; charset=utf-8' })
    .post(PATH)
    .reply(502, html, { 'content-type': 'text/html' })
    .post(PATH)
    .reply(200, html, JSON_TYPE)
  const verifier = createIntrospectionVerifier(baseOptions())
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'content_type' })
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'status' })
  // claims to be JSON but is not
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'invalid_json' })
})

t.test('non-JSON answers: text, no content type, broken JSON, empty body', async (t) => {
  useNock(t)
  nock(AS)
    .post(PATH)
    .reply(200, '{"active":true}', { 'content-type': 'text/plain' })
    .post(PATH)
    .reply(200, () => Buffer.from('{"active":true}'))
    .post(PATH)
    .reply(200, '{"active":tru', JSON_TYPE)
    .post(PATH)
    .reply(200, '', JSON_TYPE)
  const verifier = createIntrospectionVerifier(baseOptions())
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'content_type' })
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'content_type' })
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'invalid_json' })
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'invalid_json' })
})

t.test('a body that is not JSON is quoted by no error, cause or member', async (t) => {
  useNock(t)
  // A token-looking string where V8's SyntaxError quotes the body around the fault (about ten
  // characters of it: every eight-character piece of the secret is looked for).
  const secret = 'zQ9xSecretTokenValue.c2VjcmV0.c2ln'
  const pieces = Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8))
  const bodies = [
    secret,
    `{"active":true,"access_token":${secret}}`,
    `{"active":true,"echo":"${secret}",}`,
    `{"active":true,"echo":"${secret}" x}`,
  ]
  const scope = nock(AS)
  for (const body of bodies) scope.post(PATH).reply(200, body, JSON_TYPE)
  const verifier = createIntrospectionVerifier(baseOptions({ cache: false }))
  for (const body of bodies) {
    const error = await failure(verifier.verifyToken(newToken()))
    t.match(error, { reason: 'invalid_json' }, body)
    const chain: unknown[] = []
    for (let e: unknown = error; e instanceof Error; e = e.cause) chain.push(e)
    const seen = [
      inspect(error, { depth: Infinity, showHidden: true }),
      ...chain.map((e) => JSON.stringify(e)),
      ...chain.map((e) => `${(e as Error).message} ${(e as Error).stack ?? ''}`),
    ].join('\n')
    t.same(
      pieces.filter((piece) => seen.includes(piece)),
      [],
      body,
    )
  }
  t.ok(scope.isDone())
})

t.test('application/*+json content types are JSON', async (t) => {
  useNock(t)
  nock(AS).post(PATH).reply(200, JSON.stringify(activeAnswer()), {
    'content-type': 'application/vnd.example+json; charset=utf-8',
  })
  const verifier = createIntrospectionVerifier(baseOptions())
  t.ok(await verifier.verifyToken(newToken()))
})

t.test('a redirect is not followed', async (t) => {
  useNock(t)
  const scope = nock(AS)
    .post(PATH)
    .reply(302, '', { location: 'https://evil.example.com/introspect' })
  const evil = nock('https://evil.example.com').post('/introspect').reply(200, activeAnswer())
  const verifier = createIntrospectionVerifier(baseOptions({ retries: 3 }))
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'redirect', retryAfter: 5 })
  t.ok(scope.isDone())
  t.notOk(evil.isDone(), 'the redirect target was never asked')
})

t.test('a body over the size limit is refused, declared or streamed', async (t) => {
  useNock(t)
  const big = JSON.stringify(activeAnswer({ padding: 'x'.repeat(2000) }))
  nock(AS)
    .post(PATH)
    .reply(200, big, { ...JSON_TYPE, 'content-length': String(big.length) })
    .post(PATH)
    .reply(200, () => big, JSON_TYPE)
  const verifier = createIntrospectionVerifier(baseOptions({ maxResponseBytes: 1024 }))
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'too_large' })
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'too_large' })
})

t.test('the default size limit is 64 KiB', async (t) => {
  useNock(t)
  const answer = (n: number) =>
    JSON.stringify(activeAnswer({ padding: '' })).replace('""', `"${'x'.repeat(n)}"`)
  const fits = answer(64 * 1024 - JSON.stringify(activeAnswer({ padding: '' })).length)
  t.equal(fits.length, 64 * 1024)
  nock(AS).post(PATH).reply(200, fits, JSON_TYPE).post(PATH).reply(200, `${fits} `, JSON_TYPE)
  const verifier = createIntrospectionVerifier(baseOptions())
  t.ok(await verifier.verifyToken(newToken()))
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'too_large' })
})

t.test('a server that hangs times out', async (t) => {
  const server = await startServer(t, () => {
    // never answers
  })
  let attempts = 0
  const verifier = createIntrospectionVerifier(
    baseOptions({
      introspectionUrl: `${server.url}/introspect`,
      timeout: 100,
      retries: 2,
      fetch: (input, init) => {
        attempts++
        return fetch(input, init)
      },
    }),
  )
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'timeout', retryAfter: 5 })
  t.equal(attempts, 1, 'a timeout is not retried')
})

t.test('a server that sends headers and then stalls times out', async (t) => {
  const server = await startServer(t, (_req, res) => {
    res.writeHead(200, JSON_TYPE)
    res.write('{"active":')
  })
  const verifier = createIntrospectionVerifier(
    baseOptions({ introspectionUrl: `${server.url}/introspect`, timeout: 100 }),
  )
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'timeout' })
})

t.test('5xx without Retry-After is retried (bounded); the last answer decides', async (t) => {
  useNock(t)
  const scope = nock(AS)
    .post(PATH)
    .reply(503)
    .post(PATH)
    .reply(500)
    .post(PATH)
    .reply(200, activeAnswer(), JSON_TYPE)
  const verifier = createIntrospectionVerifier(baseOptions({ retries: 2 }))
  t.equal((await verifier.verifyToken(newToken()))?.clientId, 'mcp-client')
  t.ok(scope.isDone())

  const exhausted = nock(AS).post(PATH).times(2).reply(502)
  const once = createIntrospectionVerifier(baseOptions({ retries: 1 }))
  t.match(await failure(once.verifyToken(newToken())), { reason: 'status', retryAfter: 5 })
  t.ok(exhausted.isDone(), 'one try and one retry')
})

t.test('4xx answers are not retried', async (t) => {
  useNock(t)
  const scope = nock(AS).post(PATH).reply(401, { error: 'invalid_client' })
  const verifier = createIntrospectionVerifier(baseOptions({ retries: 3 }))
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'status' })
  t.ok(scope.isDone())
  t.equal(nock.pendingMocks().length, 0)
})

t.test(
  "the upstream's Retry-After is passed on, and a 5xx that sends it is not retried",
  async (t) => {
    useNock(t)
    nock(AS)
      .post(PATH)
      .reply(503, 'busy', { 'retry-after': '42' })
      .post(PATH)
      .reply(429, 'slow down', { 'retry-after': new Date(NOW + 90_000).toUTCString() })
    const verifier = createIntrospectionVerifier(baseOptions({ retries: 3 }))
    const error = await failure(verifier.verifyToken(newToken()))
    t.match(error, { reason: 'status', retryAfter: 42 })
    t.match((error as { headers: Record<string, string> }).headers, { 'retry-after': '42' })
    // an HTTP date is measured against the injected clock
    t.match(await failure(verifier.verifyToken(newToken())), { retryAfter: 90 })
  },
)

t.test('a refused connection is retried, then reported as network', async (t) => {
  const server = await startServer(t, (_req, res) => {
    res.writeHead(200, JSON_TYPE).end(JSON.stringify(activeAnswer()))
  })
  let calls = 0
  const flaky: typeof fetch = async (input, init) => {
    calls++
    if (calls === 1) throw new TypeError('fetch failed', { cause: new Error('ECONNRESET') })
    return fetch(input, init)
  }
  const verifier = createIntrospectionVerifier(
    baseOptions({ introspectionUrl: `${server.url}/introspect`, fetch: flaky, retries: 1 }),
  )
  t.ok(await verifier.verifyToken(newToken()))
  t.equal(calls, 2)

  const down = createIntrospectionVerifier(
    baseOptions({
      introspectionUrl: 'http://127.0.0.1:9/introspect',
      retries: 1,
      fetch: async () => {
        throw new TypeError('fetch failed')
      },
    }),
  )
  const error = await failure(down.verifyToken(newToken()))
  t.match(error, { reason: 'network', retryAfter: 5 })
  t.type((error as { cause?: unknown }).cause, Error, 'the cause is kept')
})

t.test('error messages and events never contain the token', async (t) => {
  useNock(t)
  const token = newToken('secret-token-value')
  nock(AS).post(PATH).reply(500, token).post(PATH).reply(200, `{"active":${token}`, JSON_TYPE)
  const verifier = createIntrospectionVerifier(baseOptions())
  for (let i = 0; i < 2; i++) {
    const error = await failure(verifier.verifyToken(token))
    t.notMatch(String((error as { message: string }).message), token)
  }
})

t.test('an unexpected error from a custom fetch is wrapped, never escapes raw', async (t) => {
  useNock(t)
  const verifier = createIntrospectionVerifier(
    baseOptions({
      fetch: () => Promise.resolve({ status: 200 } as Response),
    }),
  )
  const error = await failure(verifier.verifyToken(newToken()))
  t.match(error, { code: 'ERR_VERIFIER_UNAVAILABLE', retryAfter: 5 })
  t.ok((error as { cause?: unknown }).cause)
})

t.test('verify helper sanity: a refusal is reported', async (t) => {
  useNock(t)
  nock(AS).post(PATH).reply(200, { active: false })
  t.same(await verify(createIntrospectionVerifier(baseOptions()), newToken()), {
    accessToken: null,
    refusal: 'inactive',
  })
})

t.test('retry pauses grow exponentially, are capped at 1 s, and are jittered', async (t) => {
  t.equal(
    backoff(0, () => 0),
    50,
  )
  t.equal(
    backoff(0, () => 0.999999),
    100,
  )
  t.equal(
    backoff(1, () => 0),
    100,
  )
  t.equal(
    backoff(3, () => 0.5),
    600,
  )
  t.equal(
    backoff(4, () => 1),
    1000,
  )
  t.equal(
    backoff(20, () => 1),
    1000,
    'capped',
  )
  t.equal(
    backoff(20, () => 0),
    500,
  )
})

t.test('400 unsupported_token_type is the server refusing the token, not an outage', async (t) => {
  useNock(t)
  const scope = nock(AS)
    .post(PATH)
    .reply(400, { error: 'unsupported_token_type' }, JSON_TYPE)
    .post(PATH)
    .reply(400, { error: 'invalid_request' }, JSON_TYPE)
    .post(PATH)
    .reply(400, 'unsupported_token_type', { 'content-type': 'text/plain' })
    .post(PATH)
    .reply(400, '{broken', JSON_TYPE)
    .post(PATH)
    .reply(400, 'null', JSON_TYPE)
  const verifier = createIntrospectionVerifier(baseOptions())
  // A JWT-shaped token some servers will not introspect: refused, so 401, never 503.
  t.same(await verify(verifier, 'eyJhbGciOiJub25lIn0.e30.'), {
    accessToken: null,
    refusal: 'inactive',
  })
  // Any other 400 is still unavailable: it says nothing about the token.
  for (let i = 0; i < 4; i++) {
    t.match(await failure(verifier.verifyToken(newToken())), { reason: 'status' })
  }
  t.ok(scope.isDone())
})

t.test(
  'an exception from user code on the request path is unavailable, never a crash',
  async (t) => {
    useNock(t)
    // A clock that throws: it is first read on the request path (client authentication).
    const clock = (): number => {
      throw new RangeError('clock broken')
    }
    const verifier = createIntrospectionVerifier(baseOptions({ now: clock, cache: false }))
    await t.rejects(verifier.verifyToken(newToken()), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'invalid_response',
      retryAfter: 5,
    })
  },
)
