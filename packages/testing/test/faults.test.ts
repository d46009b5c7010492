import { createSecretKey } from 'node:crypto'
import { once } from 'node:events'
import { connect } from 'node:net'
import { fetchJson, httpRequest } from '@bearerkit/core'
import t from 'tap'
import {
  ENDPOINT_NAMES,
  createLocalAuthorizationServer,
  generateKeyPair,
  type EndpointName,
  type Fault,
  type LocalAuthorizationServer,
} from '../src/index.js'
import { basic, postForm } from './fixtures/oauth.js'

async function start(t: {
  teardown: (fn: () => unknown) => void
}): Promise<LocalAuthorizationServer> {
  const as = await createLocalAuthorizationServer({ defaultResource: 'http://127.0.0.1:3000/mcp' })
  t.teardown(() => as.close())
  return as
}

const causeCode = (error: unknown): unknown => {
  let current = error as { cause?: unknown; code?: unknown } | undefined
  while (current?.cause !== undefined) current = current.cause as typeof current
  return current?.code
}

t.test('reset destroys the connection before any answer', async (t) => {
  const as = await start(t)
  as.setFault('jwks', { type: 'reset' })
  await t.rejects(fetch(as.jwksUri), { name: 'TypeError', message: 'fetch failed' })
  await t.rejects(fetchJson(as.jwksUri, 'JWKS request'), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'network',
  })
  t.equal(as.requestCount('jwks'), 2)
  // Other endpoints are unaffected.
  t.match(await fetchJson(as.metadataUrl, 'metadata'), { issuer: as.issuer })
})

t.test('hang never answers: the client deadline fires, and close() still returns', async (t) => {
  const as = await createLocalAuthorizationServer()
  as.setFault('introspection', { type: 'hang' })
  await t.rejects(
    fetchJson(as.introspectionEndpoint, 'introspection', {
      method: 'POST',
      body: '',
      timeout: 100,
    }),
    { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'timeout' },
  )
  // A raw client without a deadline is still waiting when the server closes under it.
  const pending = fetch(as.introspectionEndpoint, { method: 'POST' })
  while (as.requestCount('introspection') < 2) await new Promise((r) => setImmediate(r))
  await as.close()
  await t.rejects(pending, { name: 'TypeError' })
  t.equal(as.requestCount('introspection'), 2)
})

t.test('status answers the status, with a JSON error body or the given one', async (t) => {
  const as = await start(t)
  as.setFault('jwks', { type: 'status' })
  const response = await fetch(as.jwksUri)
  t.equal(response.status, 500)
  t.equal(response.headers.get('content-type'), 'application/json')
  t.same(await response.json(), { error: 'server_error', error_description: 'Injected fault' })
  as.setFault('jwks', {
    type: 'status',
    status: 503,
    headers: { 'retry-after': '7' },
    body: 'down',
  })
  const down = await fetch(as.jwksUri)
  t.equal(down.status, 503)
  t.equal(await down.text(), 'down')
  await t.rejects(fetchJson(as.jwksUri, 'JWKS request'), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'status',
    retryAfter: 7,
  })
  // A status fault on the token endpoint answers before authentication.
  as.setFault('token', { type: 'status', status: 429 })
  t.equal((await postForm(as.tokenEndpoint, 'grant_type=client_credentials')).status, 429)
})

t.test('garbage is a 200 that is not JSON', async (t) => {
  const as = await start(t)
  as.setFault('metadata', { type: 'garbage' })
  const response = await fetch(as.metadataUrl)
  t.equal(response.status, 200)
  t.equal(response.headers.get('content-type'), 'application/json')
  const text = await response.text()
  t.throws(() => JSON.parse(text) as unknown, SyntaxError)
  await t.rejects(fetchJson(as.metadataUrl, 'metadata'), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'invalid_json',
  })
  as.setFault('metadata', { type: 'garbage', body: '<html></html>', contentType: 'text/html' })
  const html = await fetch(as.metadataUrl)
  t.equal(html.headers.get('content-type'), 'text/html')
  t.equal(await html.text(), '<html></html>')
})

t.test('slow answers normally, late; close() cancels what is still waiting', async (t) => {
  const as = await createLocalAuthorizationServer()
  as.setFault('jwks', { type: 'slow', delay: 20 })
  t.same(await fetchJson(as.jwksUri, 'JWKS request'), as.jwks())
  // Far slower than the client's deadline: the client gives up first.
  as.setFault('jwks', { type: 'slow', delay: 60_000 })
  await t.rejects(fetchJson(as.jwksUri, 'JWKS request', { timeout: 100 }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'timeout',
  })
  // close() does not wait for the 60 s timer (the test would time out if it did).
  await as.close()
  t.equal(as.requestCount('jwks'), 2)
})

t.test('redirect answers 3xx to the endpoint itself or a given location', async (t) => {
  const as = await start(t)
  as.setFault('jwks', { type: 'redirect' })
  const response = await fetch(`${as.jwksUri}?x=1`, { redirect: 'manual' })
  t.equal(response.status, 302)
  t.equal(response.headers.get('location'), `${as.jwksUri}?x=1`)
  await t.rejects(fetchJson(as.jwksUri, 'JWKS request'), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'redirect',
  })
  as.setFault('jwks', { type: 'redirect', status: 307, location: 'http://127.0.0.1:9/elsewhere' })
  const other = await fetch(as.jwksUri, { redirect: 'manual' })
  t.equal(other.status, 307)
  t.equal(other.headers.get('location'), 'http://127.0.0.1:9/elsewhere')
  t.equal(as.requestCount('jwks'), 3, 'core does not follow the redirect')
})

t.test('content-type serves the normal body under another type', async (t) => {
  const as = await start(t)
  as.setFault('jwks', { type: 'content-type', contentType: 'text/html' })
  const response = await fetch(as.jwksUri)
  t.equal(response.headers.get('content-type'), 'text/html')
  t.same(JSON.parse(await response.text()), as.jwks())
  await t.rejects(fetchJson(as.jwksUri, 'JWKS request'), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'content_type',
  })
})

t.test('huge serves a valid JSON body of the given size', async (t) => {
  const as = await start(t)
  as.setFault('jwks', { type: 'huge', bytes: 600 * 1024 })
  const response = await httpRequest(as.jwksUri, 'JWKS request', { maxBytes: 1024 * 1024 })
  t.ok(response.body.length > 600 * 1024)
  t.match(JSON.parse(response.body), { padding: /^A+$/ })
  await t.rejects(fetchJson(as.jwksUri, 'JWKS request'), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'too_large',
  })
})

t.test(
  'times limits a fault to the next requests; null and clearFaults switch faults off',
  async (t) => {
    const as = await start(t)
    as.setFault('jwks', { type: 'status', status: 502, times: 2 })
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) {
      const response = await fetch(as.jwksUri)
      statuses.push(response.status)
      await response.body?.cancel()
    }
    t.same(statuses, [502, 502, 200, 200])
    as.setFault('jwks', { type: 'status' })
    as.setFault('jwks', null)
    t.equal((await fetchJson(as.jwksUri, 'jwks')) !== null, true)
    for (const endpoint of ENDPOINT_NAMES) as.setFault(endpoint, { type: 'status', status: 500 })
    as.clearFaults()
    t.match(await fetchJson(as.metadataUrl, 'metadata'), { issuer: as.issuer })
    const token = await postForm(
      as.tokenEndpoint,
      { grant_type: 'client_credentials' },
      { authorization: basic('test-client', 'test-secret') },
    )
    t.equal(token.status, 200)
  },
)

t.test(
  'refuseConnections really refuses; acceptConnections listens on the same port again',
  async (t) => {
    const as = await start(t)
    t.match(await fetchJson(as.jwksUri, 'jwks'), { keys: Array })
    await as.refuseConnections()
    const error = await fetch(as.jwksUri).then(
      () => null,
      (e: unknown) => e,
    )
    t.equal(causeCode(error), 'ECONNREFUSED')
    await t.rejects(fetchJson(as.jwksUri, 'JWKS request'), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'network',
    })
    await as.refuseConnections()
    await as.acceptConnections()
    await as.acceptConnections()
    t.match(await fetchJson(as.jwksUri, 'jwks'), { keys: Array })
    t.equal(as.requestCount('jwks'), 2, 'refused connections never reach an endpoint')
  },
)

t.test('counts are per endpoint, include faulted requests, and reset', async (t) => {
  const as = await start(t)
  const hits: Record<EndpointName, number> = {
    metadata: 3,
    'openid-configuration': 1,
    jwks: 4,
    token: 2,
    introspection: 1,
    revocation: 2,
  }
  const urls: Record<EndpointName, string> = {
    metadata: as.metadataUrl,
    'openid-configuration': as.openidConfigurationUrl,
    jwks: as.jwksUri,
    token: as.tokenEndpoint,
    introspection: as.introspectionEndpoint,
    revocation: as.revocationEndpoint,
  }
  as.setFault('jwks', { type: 'status', status: 500, times: 1 })
  await Promise.all(
    ENDPOINT_NAMES.flatMap((endpoint) =>
      Array.from({ length: hits[endpoint] }, async () => {
        const response = await fetch(urls[endpoint])
        await response.body?.cancel()
      }),
    ),
  )
  const other = await fetch(`${as.origin}/nowhere`)
  await other.body?.cancel()
  t.same(as.counts, { ...hits, other: 1 })
  t.ok(Object.isFrozen(as.counts))
  for (const endpoint of ENDPOINT_NAMES) t.equal(as.requestCount(endpoint), hits[endpoint])
  as.resetCounts()
  t.same(as.counts, {
    metadata: 0,
    'openid-configuration': 0,
    jwks: 0,
    token: 0,
    introspection: 0,
    revocation: 0,
    other: 0,
  })
})

t.test('close() stops the server for good', async (t) => {
  const as = await createLocalAuthorizationServer()
  await as.close()
  await as.close()
  const error = await fetch(as.jwksUri).then(
    () => null,
    (e: unknown) => e,
  )
  t.equal(causeCode(error), 'ECONNREFUSED')
  await t.rejects(as.acceptConnections(), { message: /closed/ })
})

t.test('a port in use is an error from listen', async (t) => {
  const as = await start(t)
  await t.rejects(createLocalAuthorizationServer({ port: as.port }), { code: 'EADDRINUSE' })
})

t.test('bad faults are refused up front', async (t) => {
  const as = await start(t)
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /^fault must be an object or null/],
    [{ type: 'explode' }, /^fault\.type must be reset, hang/],
    [{ type: 'reset', times: 0 }, /^fault\.times /],
    [{ type: 'status', status: 99 }, /^fault\.status /],
    [{ type: 'status', status: 600 }, /^fault\.status /],
    [{ type: 'slow', delay: -1 }, /^fault\.delay /],
    [{ type: 'slow' }, /^fault\.delay /],
    [{ type: 'content-type' }, /^fault\.contentType /],
    [{ type: 'huge', bytes: 1.5 }, /^fault\.bytes /],
  ]
  for (const [fault, message] of cases) {
    t.throws(() => as.setFault('jwks', fault as Fault), { code: 'ERR_INVALID_ARG_VALUE', message })
  }
  t.throws(() => as.setFault('userinfo' as EndpointName, { type: 'hang' }), {
    message: /^endpoint must be one of metadata/,
  })
})

t.test('a client that drops the connection mid-body does not break the server', async (t) => {
  const as = await start(t)
  const socket = connect(as.port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write(
    'POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
      'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type=',
  )
  while (as.requestCount('token') < 1) await new Promise((r) => setImmediate(r))
  socket.destroy()
  await once(socket, 'close')
  // The server is still there and answers the next request.
  t.match(await fetchJson(as.metadataUrl, 'metadata'), { issuer: as.issuer })
  t.equal(as.requestCount('token'), 1)
})

t.test('a failure inside an endpoint is a 500 server_error, not a hang', async (t) => {
  const as = await start(t)
  const broken = await generateKeyPair('RS256')
  // A "key pair" whose private key cannot sign RS256 makes the token endpoint fail.
  await as.rotateKeys({ key: { ...broken, privateKey: createSecretKey(Buffer.alloc(32)) } })
  const response = await postForm(
    as.tokenEndpoint,
    { grant_type: 'client_credentials' },
    { authorization: basic('test-client', 'test-secret') },
  )
  t.equal(response.status, 500)
  t.same(response.body, { error: 'server_error', error_description: 'The server failed' })
})
