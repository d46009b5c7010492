import nock from 'nock'
import t from 'tap'
import { createJwtVerifier, type JwksEvent, type JwtVerifierOptions } from '../src/index.js'
import { collect } from './fixtures/events.js'
import { AUDIENCE, ISSUER, NOW, mint, pair } from './fixtures/keys.js'
import { outcome } from './fixtures/outcome.js'

const JWKS = `${ISSUER}/jwks`

t.before(() => {
  nock.disableNetConnect()
  nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/)
})
t.afterEach(() => {
  nock.cleanAll()
})
t.teardown(() => {
  nock.enableNetConnect()
})

function make(options: Partial<JwtVerifierOptions> = {}, clock = { now: NOW }) {
  return createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: JWKS,
    now: () => clock.now,
    ...options,
  })
}

t.test('a JWKS that cannot be used is unavailability, never a refusal', async (t) => {
  const rsa = await pair('RS256')
  const token = await mint(rsa)
  const json = { 'content-type': 'application/json' }
  const cases: Array<[string, (scope: nock.Interceptor) => nock.Scope, string]> = [
    ['500', (i) => i.reply(500, { error: 'x' }, json), 'status'],
    ['404', (i) => i.reply(404), 'status'],
    [
      '302 to a key set (not followed)',
      (i) => i.reply(302, '', { location: 'https://evil.example.com/jwks' }),
      'redirect',
    ],
    [
      'non-JSON content type',
      (i) => i.reply(200, '<html>hi</html>', { 'content-type': 'text/html' }),
      'content_type',
    ],
    ['invalid JSON', (i) => i.reply(200, '{"keys": [', json), 'invalid_json'],
    ['a JSON array', (i) => i.reply(200, [rsa.jwk], json), 'invalid_response'],
    ['keys not an array', (i) => i.reply(200, { keys: rsa.jwk }, json), 'invalid_response'],
    [
      'a private key',
      (i) => i.reply(200, { keys: [rsa.jwk, { ...rsa.jwk, kid: 'p', d: 'AAAA' }] }, json),
      'invalid_response',
    ],
    [
      'a private key with use enc',
      (i) =>
        i.reply(200, { keys: [{ ...rsa.jwk, kid: 'p', use: 'enc', p: 'AAAA' }, rsa.jwk] }, json),
      'invalid_response',
    ],
    ['no usable key', (i) => i.reply(200, { keys: [{ ...rsa.jwk, use: 'enc' }] }, json), 'no_key'],
    ['an empty set', (i) => i.reply(200, { keys: [] }, json), 'no_key'],
    [
      '101 keys',
      (i) =>
        i.reply(
          200,
          { keys: Array.from({ length: 101 }, (_, n) => ({ ...rsa.jwk, kid: `k${n}` })) },
          json,
        ),
      'invalid_response',
    ],
    [
      'over the size limit',
      (i) => i.reply(200, { keys: [rsa.jwk], padding: 'x'.repeat(300 * 1024) }, json),
      'too_large',
    ],
    ['a network error', (i) => i.replyWithError('connection reset'), 'network'],
  ]
  for (const [name, reply, reason] of cases) {
    const scope = reply(nock(ISSUER).get('/jwks'))
    const verifier = make()
    const error = await verifier.verifyToken(token).then(
      () => undefined,
      (e: unknown) => e,
    )
    t.match(
      error,
      { code: 'ERR_VERIFIER_UNAVAILABLE', statusCode: 503, reason, retryAfter: 1 },
      name,
    )
    t.notMatch(String((error as Error | undefined)?.message), token.split('.')[1] ?? 'unreachable')
    t.ok(scope.isDone(), `${name}: requested`)
    nock.cleanAll()
  }
})

t.test('a usable cached key keeps working while refreshes fail', async (t) => {
  const rsa = await pair('RS256')
  const token = await mint(rsa)
  const clock = { now: NOW }
  const verifier = make({ jwks: { maxAge: 60 } }, clock)
  const first = nock(ISSUER)
    .get('/jwks')
    .reply(200, { keys: [rsa.jwk] })
  t.equal(await outcome(verifier, token), 'accepted')
  t.ok(first.isDone())
  const failures = [
    (i: nock.Interceptor) => i.reply(500),
    (i: nock.Interceptor) => i.reply(302, '', { location: `${ISSUER}/other` }),
    (i: nock.Interceptor) => i.reply(200, 'garbage', { 'content-type': 'text/plain' }),
    (i: nock.Interceptor) => i.reply(200, { keys: [{ ...rsa.jwk, d: 'AAAA' }] }),
  ]
  for (const failure of failures) {
    clock.now += 61_000
    const scope = failure(nock(ISSUER).get('/jwks'))
    t.equal(await outcome(verifier, token), 'accepted')
    t.ok(scope.isDone())
  }
})

t.test('discovery: RFC 8414 first, then OpenID Connect; the issuer must match', async (t) => {
  const rsa = await pair('ES256')
  const token = await mint(rsa)
  const events = collect<JwksEvent>()
  t.teardown(events.stop)

  const rfc8414 = nock(ISSUER)
    .get('/.well-known/oauth-authorization-server')
    .reply(200, { issuer: ISSUER, jwks_uri: `${ISSUER}/keys` })
    .get('/keys')
    .reply(200, { keys: [rsa.jwk] }, { 'content-type': 'application/jwk-set+json' })
  const verifier = make({ jwksUri: undefined })
  await verifier.ready()
  t.equal(await outcome(verifier, token), 'accepted')
  t.ok(rfc8414.isDone())
  t.match(events.events.slice(0, 2), [
    { type: 'discovered', issuer: ISSUER, jwksUri: `${ISSUER}/keys` },
    { type: 'fetched', jwksUri: `${ISSUER}/keys`, trigger: 'ready', keys: 1 },
  ])

  const oidc = nock(ISSUER)
    .get('/.well-known/oauth-authorization-server')
    .reply(404)
    .get('/.well-known/openid-configuration')
    .reply(200, { issuer: ISSUER, jwks_uri: `${ISSUER}/oidc-keys` })
    .get('/oidc-keys')
    .reply(200, { keys: [rsa.jwk] })
  t.equal(await outcome(make({ jwksUri: undefined }), token), 'accepted')
  t.ok(oidc.isDone())

  // An issuer with a path: the well-known segment goes before the path (RFC 8414 §3.1).
  const tenant = `${ISSUER}/tenant-1`
  const withPath = nock(ISSUER)
    .get('/.well-known/oauth-authorization-server/tenant-1')
    .reply(200, { issuer: tenant, jwks_uri: `${ISSUER}/tenant-1/keys` })
    .get('/tenant-1/keys')
    .reply(200, { keys: [rsa.jwk] })
  const tenantVerifier = createJwtVerifier({ issuer: tenant, audience: AUDIENCE, now: () => NOW })
  t.equal(await outcome(tenantVerifier, await mint(rsa, { claims: { iss: tenant } })), 'accepted')
  t.ok(withPath.isDone())

  const failing: Array<[string, () => nock.Scope, string]> = [
    [
      'issuer mismatch (trailing slash)',
      () =>
        nock(ISSUER)
          .get('/.well-known/oauth-authorization-server')
          .reply(200, { issuer: `${ISSUER}/`, jwks_uri: `${ISSUER}/keys` }),
      'issuer_mismatch',
    ],
    [
      'no jwks_uri',
      () =>
        nock(ISSUER).get('/.well-known/oauth-authorization-server').reply(200, { issuer: ISSUER }),
      'invalid_response',
    ],
    [
      'plain http jwks_uri',
      () =>
        nock(ISSUER)
          .get('/.well-known/oauth-authorization-server')
          .reply(200, { issuer: ISSUER, jwks_uri: 'http://as.example.com/keys' }),
      'invalid_response',
    ],
    [
      'both documents missing',
      () =>
        nock(ISSUER)
          .get('/.well-known/oauth-authorization-server')
          .reply(404)
          .get('/.well-known/openid-configuration')
          .reply(404),
      'status',
    ],
    [
      'metadata redirect',
      () =>
        nock(ISSUER)
          .get('/.well-known/oauth-authorization-server')
          .reply(301, '', { location: 'https://evil.example.com/' }),
      'redirect',
    ],
  ]
  for (const [name, scope, reason] of failing) {
    const expectations = scope()
    events.events.length = 0
    await t.rejects(
      make({ jwksUri: undefined }).verifyToken(token),
      { code: 'ERR_VERIFIER_UNAVAILABLE', reason },
      name,
    )
    t.ok(expectations.isDone(), name)
    t.match(
      events.events,
      [{ type: 'fetch_failed', issuer: ISSUER, trigger: 'cold', reason }],
      name,
    )
  }
})

t.test('discovery happens once; its failures back off like JWKS failures', async (t) => {
  const rsa = await pair('ES256')
  const token = await mint(rsa)
  const clock = { now: NOW }
  const verifier = make({ jwksUri: undefined, jwks: { backoff: 5 } }, clock)
  const down = nock(ISSUER)
    .get('/.well-known/oauth-authorization-server')
    .reply(503, '', { 'retry-after': '2' })
  await t.rejects(verifier.verifyToken(token), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'status',
    retryAfter: 5,
  })
  t.ok(down.isDone())
  await t.rejects(verifier.verifyToken(token), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'status',
  })
  clock.now += 5000
  const up = nock(ISSUER)
    .get('/.well-known/oauth-authorization-server')
    .reply(200, { issuer: ISSUER, jwks_uri: `${ISSUER}/keys` })
    .get('/keys')
    .reply(200, { keys: [rsa.jwk] })
  t.equal(await outcome(verifier, token), 'accepted')
  t.ok(up.isDone())
  clock.now += 600_000
  const refresh = nock(ISSUER)
    .get('/keys')
    .reply(200, { keys: [rsa.jwk] })
  t.equal(
    await outcome(verifier, await mint(rsa, { claims: { exp: NOW / 1000 + 7200 } })),
    'accepted',
  )
  t.ok(refresh.isDone(), 'the refresh goes to the discovered URI without discovering again')
})

t.test('a custom fetch is used, and a misbehaving one is still unavailability', async (t) => {
  const rsa = await pair('RS256')
  const token = await mint(rsa)
  const urls: string[] = []
  const counting: typeof fetch = async (input, init) => {
    urls.push(input instanceof Request ? input.url : input.toString())
    return fetch(input, init)
  }
  const scope = nock(ISSUER)
    .get('/jwks')
    .reply(200, { keys: [rsa.jwk] })
  t.equal(await outcome(make({ fetch: counting }), token), 'accepted')
  t.same(urls, [JWKS])
  t.ok(scope.isDone())
  const broken = (async () => ({
    status: 200,
    headers: {
      get: () => {
        throw new Error('broken headers')
      },
    },
  })) as unknown as typeof fetch
  await t.rejects(make({ fetch: broken }).verifyToken(token), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'network',
    cause: { reason: 'network', cause: { message: 'broken headers' } },
  })
})
