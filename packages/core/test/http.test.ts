import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { inspect } from 'node:util'
import nock from 'nock'
import t from 'tap'
import {
  discoverAuthorizationServer,
  fetchJson,
  httpRequest,
  metadataUrls,
  parseRetryAfter,
  validateUrl,
} from '../src/index.js'

nock.disableNetConnect()
nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/)
t.afterEach(() => {
  nock.cleanAll()
})
t.teardown(() => {
  nock.enableNetConnect()
})

const AS = 'https://as.example'

t.test('fetchJson returns parsed JSON for a 200 JSON answer', async (t) => {
  const scope = nock(AS)
    .get('/doc')
    .matchHeader('accept', 'application/json')
    .reply(200, { a: 1 }, { 'content-type': 'application/json; charset=utf-8' })
  t.same(await fetchJson(`${AS}/doc`, 'Doc request'), { a: 1 })
  t.ok(scope.isDone())
  nock(AS).get('/jwks').reply(200, '{"keys":[]}', { 'content-type': 'application/jwk-set+json' })
  t.same(await fetchJson(`${AS}/jwks`, 'JWKS request'), { keys: [] })
})

t.test('every upstream fault is VerifierUnavailableError with a reason', async (t) => {
  const cases: Array<[string, (s: nock.Interceptor) => nock.Scope, string]> = [
    ['500', (s) => s.reply(500, 'oops'), 'status'],
    ['404', (s) => s.reply(404, { error: 'x' }, { 'content-type': 'application/json' }), 'status'],
    ['302', (s) => s.reply(302, '', { location: 'https://evil.example/' }), 'redirect'],
    [
      'html',
      (s) => s.reply(200, '<html>down</html>', { 'content-type': 'text/html' }),
      'content_type',
    ],
    ['no type', (s) => s.reply(200, '{}'), 'content_type'],
    [
      'bad json',
      (s) => s.reply(200, '{nope', { 'content-type': 'application/json' }),
      'invalid_json',
    ],
    ['network', (s) => s.replyWithError('ECONNRESET'), 'network'],
  ]
  for (const [name, reply, reason] of cases) {
    const scope = reply(nock(AS).get('/x'))
    await t.rejects(
      fetchJson(`${AS}/x`, 'Test request'),
      { code: 'ERR_VERIFIER_UNAVAILABLE', statusCode: 503, reason, message: /^Test request: / },
      name,
    )
    t.ok(scope.isDone(), name)
  }
})

t.test('a body that is not JSON is quoted by no error, cause or member', async (t) => {
  // V8's SyntaxError quotes about ten characters around the fault.
  const secret = 'zQ9xSecretTokenValue.c2VjcmV0.c2ln'
  nock(AS).get('/x').reply(200, secret, { 'content-type': 'application/json' })
  const error = await fetchJson(`${AS}/x`, 'Test').then(
    () => null,
    (e: unknown) => e,
  )
  t.match(error, { reason: 'invalid_json' })
  t.notOk(inspect(error, { depth: Infinity, showHidden: true }).includes(secret.slice(0, 8)))
})

t.test('429 and 5xx carry the upstream Retry-After', async (t) => {
  nock(AS).get('/x').reply(503, 'busy', { 'retry-after': '7' })
  await t.rejects(fetchJson(`${AS}/x`, 'Test'), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    retryAfter: 7,
    headers: { 'retry-after': '7' },
  })
})

t.test('size limit: declared and streamed bodies', async (t) => {
  nock(AS)
    .get('/big')
    .reply(200, 'x'.repeat(2000), { 'content-type': 'application/json', 'content-length': '2000' })
  await t.rejects(httpRequest(`${AS}/big`, 'Big', { maxBytes: 1000 }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'too_large',
  })
  // A body without content-length is counted while it streams.
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write('['.padEnd(600, ' '))
    res.write(' '.repeat(600))
    res.end(']')
  })
  const base = await listen(t, server)
  await t.rejects(httpRequest(`${base}/stream`, 'Stream', { maxBytes: 1000 }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'too_large',
  })
  const ok = await httpRequest(`${base}/stream`, 'Stream', { maxBytes: 2000 })
  t.equal(ok.status, 200)
  t.equal(ok.body.length, 1201)
})

t.test('a hanging server times out within the deadline', async (t) => {
  const server = createServer(() => {
    // never answers
  })
  const base = await listen(t, server)
  await t.rejects(httpRequest(`${base}/hang`, 'Hang', { timeout: 100 }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'timeout',
  })
  // A server that sends headers, then stalls the body, also hits the deadline.
  const stall = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write('{')
  })
  const stallBase = await listen(t, stall)
  await t.rejects(httpRequest(`${stallBase}/stall`, 'Stall', { timeout: 100 }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'timeout',
  })
})

t.test("the caller's abort wins over unavailable", async (t) => {
  const server = createServer(() => {
    // never answers
  })
  const base = await listen(t, server)
  const controller = new AbortController()
  const pending = httpRequest(`${base}/hang`, 'Hang', { signal: controller.signal, timeout: 5000 })
  controller.abort(new Error('caller gave up'))
  await t.rejects(pending, { message: 'caller gave up' })
  const other = new AbortController()
  const pending2 = httpRequest(`${base}/hang`, 'Hang', { signal: other.signal })
  other.abort('plain reason')
  await t.rejects(pending2, { message: 'plain reason' })
})

t.test('the caller signal listener is removed after every request', async (t) => {
  const { EventEmitter } = await import('node:events')
  const controller = new AbortController()
  nock(AS).get('/a').reply(200, {}, { 'content-type': 'application/json' })
  nock(AS).get('/b').reply(500)
  await fetchJson(`${AS}/a`, 'A', { signal: controller.signal })
  await t.rejects(fetchJson(`${AS}/b`, 'B', { signal: controller.signal }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
  })
  t.equal(EventEmitter.getEventListeners(controller.signal, 'abort').length, 0)
  const aborted = new AbortController()
  aborted.abort(new Error('already gone'))
  await t.rejects(httpRequest(`${AS}/c`, 'C', { signal: aborted.signal }), {
    message: 'already gone',
  })
})

t.test('a response whose headers throw is a network failure, not a crash', async (t) => {
  const fakeFetch = (async () => ({
    status: 200,
    body: null,
    headers: {
      get() {
        throw new Error('broken headers')
      },
    },
  })) as unknown as typeof fetch
  await t.rejects(httpRequest(`${AS}/h`, 'Headers', { fetch: fakeFetch }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'network',
  })
})

t.test('POST with a body and an injected fetch', async (t) => {
  const seen: RequestInit[] = []
  const fakeFetch = (async (_url: string | URL | Request, init?: RequestInit) => {
    seen.push(init ?? {})
    return new Response(null, { status: 204 })
  }) as typeof fetch
  const response = await httpRequest(`${AS}/p`, 'Post', {
    method: 'POST',
    body: 'a=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    fetch: fakeFetch,
  })
  t.equal(response.status, 204)
  t.equal(response.body, '')
  t.match(seen[0], { method: 'POST', body: 'a=1', redirect: 'manual' })
})

t.test('a body stream that errors is a network failure', async (t) => {
  const fakeFetch = (async () =>
    new Response(
      new ReadableStream({
        pull(controller) {
          controller.error(new Error('socket hang up'))
        },
      }),
      { status: 200 },
    )) as typeof fetch
  await t.rejects(httpRequest(`${AS}/p`, 'Broken', { fetch: fakeFetch }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'network',
  })
})

t.test('parseRetryAfter', async (t) => {
  t.equal(parseRetryAfter(null), undefined)
  t.equal(parseRetryAfter(''), undefined)
  t.equal(parseRetryAfter('12'), 12)
  t.equal(parseRetryAfter('999999999'), 86_400)
  const now = Date.parse('2026-01-01T00:00:00Z')
  t.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30)
  t.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0)
  t.equal(parseRetryAfter('soon'), undefined)
})

t.test('validateUrl allows https anywhere and http only on loopback', async (t) => {
  t.equal(validateUrl('x', 'https://as.example/p').href, 'https://as.example/p')
  t.equal(validateUrl('x', new URL('http://127.0.0.1:8080/')).port, '8080')
  t.ok(validateUrl('x', 'http://localhost/'))
  t.ok(validateUrl('x', 'http://[::1]:3000/'))
  t.ok(validateUrl('x', 'http://127.1.2.3/'))
  const bad: Array<[unknown, RegExp]> = [
    [5, /must be a URL string/],
    ['not a url', /absolute URL/],
    ['http://as.example/', /https/],
    ['ftp://127.0.0.1/', /https/],
    ['http://127.0.0.1.evil.example/', /https/],
    ['https://user:pw@as.example/', /credentials/],
    ['https://as.example/#frag', /fragment/],
  ]
  for (const [value, message] of bad) {
    t.throws(() => validateUrl('options.jwksUri', value), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: new RegExp(`^options\\.jwksUri .*${message.source}`),
    })
  }
})

t.test('metadataUrls puts the RFC 8414 segment before the path', async (t) => {
  t.same(metadataUrls('https://as.example').map(String), [
    'https://as.example/.well-known/oauth-authorization-server',
    'https://as.example/.well-known/openid-configuration',
  ])
  t.same(metadataUrls('https://as.example/tenant/').map(String), [
    'https://as.example/.well-known/oauth-authorization-server/tenant',
    'https://as.example/tenant/.well-known/openid-configuration',
  ])
})

t.test('discovery: RFC 8414 first, OpenID on a non-200, issuer must match', async (t) => {
  const meta = { issuer: AS, jwks_uri: `${AS}/jwks`, introspection_endpoint: `${AS}/introspect` }
  nock(AS).get('/.well-known/oauth-authorization-server').reply(200, meta)
  t.same(await discoverAuthorizationServer(AS), meta)

  nock(AS).get('/.well-known/oauth-authorization-server').reply(404)
  nock(AS).get('/.well-known/openid-configuration').reply(200, meta)
  t.same(await discoverAuthorizationServer(AS), meta)

  nock(AS)
    .get('/.well-known/oauth-authorization-server')
    .reply(200, { ...meta, issuer: `${AS}/` })
  await t.rejects(discoverAuthorizationServer(AS), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'issuer_mismatch',
  })

  nock(AS).get('/.well-known/oauth-authorization-server').reply(200, [meta])
  await t.rejects(discoverAuthorizationServer(AS), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'invalid_response',
  })

  nock(AS)
    .get('/.well-known/oauth-authorization-server')
    .reply(200, { ...meta, jwks_uri: 'http://evil.example/jwks' })
  await t.rejects(discoverAuthorizationServer(AS), {
    reason: 'invalid_response',
    message: /jwks_uri/,
  })

  nock(AS).get('/.well-known/oauth-authorization-server').replyWithError('ECONNREFUSED')
  await t.rejects(
    discoverAuthorizationServer(AS),
    { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'network' },
    'network is not retried',
  )

  // An outage or rate limit is not a missing document: no second request.
  for (const status of [500, 503, 429]) {
    nock(AS).get('/.well-known/oauth-authorization-server').reply(status)
    const oidc = nock(AS).get('/.well-known/openid-configuration').reply(200, meta)
    await t.rejects(discoverAuthorizationServer(AS), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'status',
      upstreamStatus: status,
    })
    t.equal(oidc.isDone(), false, `no OpenID fallback after ${status}`)
    nock.cleanAll()
  }
  nock(AS).get('/.well-known/oauth-authorization-server').reply(400)
  nock(AS).get('/.well-known/openid-configuration').reply(500)
  await t.rejects(discoverAuthorizationServer(AS), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'status',
  })

  await t.rejects(discoverAuthorizationServer('http://as.example'), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
})

async function listen(t: { teardown(fn: () => void): void }, server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

t.test('No hard deadline on upstream calls: a fetch that never settles times out', async (t) => {
  // A fetch that ignores its AbortSignal and never answers.
  const never = (() => new Promise<Response>(() => undefined)) as typeof fetch
  const started = performance.now()
  await t.rejects(httpRequest(`${AS}/x`, 'Stuck', { fetch: never, timeout: 30 }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'timeout',
    message: 'Stuck: the request timed out',
  })
  t.ok(performance.now() - started < 2000, 'ended by its timeout')
  await t.rejects(fetchJson(`${AS}/x`, 'Stuck JSON', { fetch: never, timeout: 30 }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'timeout',
  })
  await t.rejects(discoverAuthorizationServer(AS, { fetch: never, timeout: 30 }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'timeout',
  })
  // The caller's abort ends it too, with the caller's reason.
  const controller = new AbortController()
  const pending = httpRequest(`${AS}/x`, 'Stuck', { fetch: never, signal: controller.signal })
  controller.abort(new Error('client left'))
  await t.rejects(pending, { message: 'client left' })
})

t.test('No hard deadline on upstream calls: a body stream that never ends times out', async (t) => {
  let cancelled = 0
  // A body not tied to the request's signal: one chunk, then silence.
  const endless = (() =>
    Promise.resolve(
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"keys":'))
          },
          cancel() {
            cancelled++
            // A cancel that never settles must not hold the caller either.
            return new Promise<void>(() => undefined)
          },
        }),
        { status: 200, headers: { 'content-type': 'application/json' } },
      ),
    )) as typeof fetch
  await t.rejects(httpRequest(`${AS}/x`, 'Endless', { fetch: endless, timeout: 30 }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'timeout',
  })
  await t.rejects(fetchJson(`${AS}/x`, 'Endless', { fetch: endless, timeout: 30 }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'timeout',
  })
  t.equal(cancelled, 2, 'the body is released')
  const controller = new AbortController()
  const pending = httpRequest(`${AS}/x`, 'Endless', {
    fetch: endless,
    signal: controller.signal,
    timeout: 5000,
  })
  setImmediate(() => controller.abort(new Error('client left')))
  await t.rejects(pending, { message: 'client left' })
})

t.test('an unread body is released without waiting, even when cancel throws', async (t) => {
  const redirect = (() =>
    Promise.resolve({
      status: 302,
      headers: new Headers({ location: 'https://evil.example/' }),
      body: {
        cancel() {
          throw new Error('cannot cancel')
        },
      },
    })) as unknown as typeof fetch
  await t.rejects(httpRequest(`${AS}/x`, 'Redirect', { fetch: redirect }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'redirect',
  })
  const large = (() =>
    Promise.resolve(
      new Response(new ReadableStream({ pull: () => new Promise(() => undefined) }), {
        status: 200,
        headers: { 'content-length': '999999999' },
      }),
    )) as typeof fetch
  await t.rejects(httpRequest(`${AS}/x`, 'Large', { fetch: large, timeout: 5000 }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'too_large',
  })
})

t.test('fetchJson computes an HTTP-date Retry-After with the injected clock', async (t) => {
  const at = Date.parse('2030-01-01T00:00:00Z')
  nock(AS).get('/busy').reply(503, 'busy', { 'retry-after': 'Tue, 01 Jan 2030 00:00:30 GMT' })
  await t.rejects(fetchJson(`${AS}/busy`, 'Busy', { now: () => at }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    retryAfter: 30,
    upstreamStatus: 503,
  })
  nock(AS)
    .get('/.well-known/oauth-authorization-server')
    .reply(429, 'busy', { 'retry-after': 'Tue, 01 Jan 2030 00:00:30 GMT' })
  // Date.now is years before 2030 here: without the injected clock this would be capped at a day.
  await t.rejects(discoverAuthorizationServer(AS, { now: () => at }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    retryAfter: 30,
  })
})

t.test('a deadline longer than a timer holds does not end the request at once', async (t) => {
  // A server that takes 60 ms to answer: a 30-day timeout (past Node's 2^31 - 1 ms timers, which
  // would fire after 1 ms) still gets the answer.
  const server: Server = createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ok":true}')
    }, 60)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as AddressInfo
  const answer = await httpRequest(`http://127.0.0.1:${port}/`, 'test', {
    timeout: 30 * 24 * 3600 * 1000,
  })
  t.equal(answer.status, 200)
  t.equal(answer.body, '{"ok":true}')
})
