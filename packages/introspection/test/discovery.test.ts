import nock from 'nock'
import t from 'tap'
import { createIntrospectionVerifier } from '../src/index.js'
import { AUDIENCE, activeAnswer, baseOptions, newToken } from './fixtures/common.js'
import { useNock } from './fixtures/net.js'

const AS = 'https://as.example.com'
const RFC8414 = '/.well-known/oauth-authorization-server'
const OIDC = '/.well-known/openid-configuration'

function metadata(extra: Record<string, unknown> = {}) {
  return {
    issuer: AS,
    token_endpoint: `${AS}/token`,
    introspection_endpoint: `${AS}/discovered/introspect`,
    jwks_uri: `${AS}/jwks`,
    ...extra,
  }
}

const discovering = (extra: Parameters<typeof baseOptions>[0] = {}) =>
  baseOptions({ introspectionUrl: undefined, issuer: AS, ...extra })

t.test('the endpoint is discovered from RFC 8414 metadata, once', async (t) => {
  useNock(t)
  const scope = nock(AS)
    .get(RFC8414)
    .reply(200, metadata())
    .post('/discovered/introspect')
    .times(3)
    .reply(200, activeAnswer())
  const verifier = createIntrospectionVerifier(discovering({ cache: false }))
  const results = await Promise.all([
    verifier.verifyToken(newToken()),
    verifier.verifyToken(newToken()),
  ])
  t.ok(results.every((r) => r?.audience?.[0] === AUDIENCE))
  t.ok(await verifier.verifyToken(newToken()))
  t.ok(scope.isDone(), 'one metadata request for three introspections')
})

t.test('OpenID Connect discovery is the fallback when RFC 8414 answers 404', async (t) => {
  useNock(t)
  const scope = nock(AS)
    .get(RFC8414)
    .reply(404)
    .get(OIDC)
    .reply(200, metadata())
    .post('/discovered/introspect')
    .reply(200, activeAnswer())
  const verifier = createIntrospectionVerifier(discovering())
  t.ok(await verifier.verifyToken(newToken()))
  t.ok(scope.isDone())
})

t.test('an issuer with a path puts the well-known segment first (RFC 8414 §3.1)', async (t) => {
  useNock(t)
  const issuer = `${AS}/tenants/a`
  const scope = nock(AS)
    .get(`${RFC8414}/tenants/a`)
    .reply(200, metadata({ issuer, introspection_endpoint: `${issuer}/introspect` }))
    .post('/tenants/a/introspect')
    .reply(200, activeAnswer({ iss: issuer }))
  const verifier = createIntrospectionVerifier(discovering({ issuer }))
  t.equal((await verifier.verifyToken(newToken()))?.issuer, issuer)
  t.ok(scope.isDone())
})

t.test(
  'ready() discovers ahead; failures are unavailable and retried on the next call',
  async (t) => {
    useNock(t)
    const scope = nock(AS)
      // An outage at the RFC 8414 location is not a missing document: no OpenID fallback.
      .get(RFC8414)
      .reply(503, '', { 'retry-after': '17' })
      .get(RFC8414)
      .reply(200, metadata())
      .post('/discovered/introspect')
      .reply(200, activeAnswer())
    const verifier = createIntrospectionVerifier(discovering())
    t.match(await verifier.ready().catch((e: unknown) => e), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'status',
      retryAfter: 17,
    })
    await verifier.ready()
    await verifier.ready()
    t.ok(await verifier.verifyToken(newToken()))
    t.ok(scope.isDone(), 'the failed discovery was not kept, the good one was')
  },
)

t.test('metadata without an introspection_endpoint makes the verifier unavailable', async (t) => {
  useNock(t)
  nock(AS)
    .get(RFC8414)
    .reply(200, metadata({ introspection_endpoint: undefined }))
  const verifier = createIntrospectionVerifier(discovering())
  t.match(await verifier.verifyToken(newToken()).catch((e: unknown) => e), {
    reason: 'invalid_response',
    retryAfter: 5,
  })
})

t.test('metadata for another issuer, or with an http endpoint, is refused', async (t) => {
  useNock(t)
  nock(AS)
    .get(RFC8414)
    .reply(200, metadata({ issuer: 'https://evil.example.com' }))
    .get(RFC8414)
    .reply(200, metadata({ introspection_endpoint: 'http://as.example.com/introspect' }))
  const verifier = createIntrospectionVerifier(discovering())
  t.match(await verifier.verifyToken(newToken()).catch((e: unknown) => e), {
    reason: 'issuer_mismatch',
  })
  t.match(await verifier.verifyToken(newToken()).catch((e: unknown) => e), {
    reason: 'invalid_response',
  })
})

t.test('discovery goes through the configured fetch', async (t) => {
  useNock(t)
  nock(AS)
    .get(RFC8414)
    .reply(200, metadata())
    .post('/discovered/introspect')
    .reply(200, activeAnswer())
  const urls: string[] = []
  const verifier = createIntrospectionVerifier(
    discovering({
      fetch: (input, init) => {
        urls.push(input instanceof Request ? input.url : input.toString())
        return fetch(input, init)
      },
    }),
  )
  t.ok(await verifier.verifyToken(newToken()))
  t.same(urls, [`${AS}${RFC8414}`, `${AS}/discovered/introspect`])
})

t.test('with introspectionUrl and no RFC 9701, ready() makes no request', async (t) => {
  useNock(t)
  const verifier = createIntrospectionVerifier(baseOptions())
  await verifier.ready()
  t.equal(nock.pendingMocks().length, 0)
  t.pass('no request was attempted (nock would have refused it)')
})
