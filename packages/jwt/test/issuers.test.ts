import t from 'tap'
import { createJwtVerifier } from '../src/index.js'
import { startServer } from './fixtures/jwks-server.js'
import { AUDIENCE, NOW, mint, pair } from './fixtures/keys.js'
import { outcome } from './fixtures/outcome.js'

t.test('several issuers, each bound to its own key source', async (t) => {
  const server = await startServer()
  t.teardown(() => server.close())
  const a = await pair('RS256', 'issuer-a')
  const b = await pair('ES256', 'issuer-b')
  const c = await pair('EdDSA', 'issuer-c')
  server.json('/a/jwks', { keys: [a.jwk] })
  const A = 'https://a.example.com'
  const B = 'https://b.example.com'
  const C = `${server.origin}/c`
  server.json('/.well-known/oauth-authorization-server/c', {
    issuer: C,
    jwks_uri: `${server.origin}/c/jwks`,
  })
  server.json('/c/jwks', { keys: [c.jwk] })
  const verifier = createJwtVerifier({
    audience: AUDIENCE,
    now: () => NOW,
    // Applies to A and C (fetched keys); B has a static key and is left alone.
    jwks: { maxAge: 120, cooldown: 10 },
    issuers: [
      { issuer: A, jwksUri: `${server.origin}/a/jwks` },
      { issuer: B, key: b.pem },
      { issuer: C },
    ],
  })
  t.teardown(() => verifier.close())
  t.equal(await outcome(verifier, await mint(a, { claims: { iss: A } })), 'accepted')
  t.equal(await outcome(verifier, await mint(b, { claims: { iss: B } })), 'accepted')
  t.equal(await outcome(verifier, await mint(c, { claims: { iss: C } })), 'accepted')
  // Issuer A's claim, signed with B's key (and naming B's kid, or A's): refused.
  t.equal(await outcome(verifier, await mint(b, { claims: { iss: A } })), 'unknown_key')
  t.equal(
    await outcome(verifier, await mint(b, { claims: { iss: A }, header: { kid: a.kid } })),
    'algorithm_not_allowed',
  )
  // Issuer B's claim, signed with A's key: B's static key does not verify it.
  t.equal(await outcome(verifier, await mint(a, { claims: { iss: B } })), 'algorithm_not_allowed')
  const otherEs = await pair('ES256', 'not-b')
  t.equal(await outcome(verifier, await mint(otherEs, { claims: { iss: B } })), 'bad_signature')
  // An unknown issuer is refused before any key is fetched.
  const before = server.requests.length
  t.equal(
    await outcome(verifier, await mint(a, { claims: { iss: 'https://evil.example.com' } })),
    'wrong_issuer',
  )
  t.equal(await outcome(verifier, await mint(a, { claims: { iss: `${A}/` } })), 'wrong_issuer')
  t.equal(await outcome(verifier, await mint(a, { claims: { iss: undefined } })), 'missing_claim')
  t.equal(await outcome(verifier, await mint(a, { claims: { iss: 5 } })), 'invalid_claim')
  t.equal(server.requests.length, before)
  const result = await verifier.verifyToken(await mint(c, { claims: { iss: C } }))
  t.equal(result?.issuer, C)
  await verifier.ready()
})

t.test('ready() loads every issuer and fails when one cannot be loaded', async (t) => {
  const server = await startServer()
  t.teardown(() => server.close())
  const a = await pair('RS256', 'issuer-a')
  server.json('/a', { keys: [a.jwk] })
  server.json('/b', 'down', 500)
  const verifier = createJwtVerifier({
    audience: AUDIENCE,
    issuers: [
      { issuer: 'https://a.example.com', jwksUri: `${server.origin}/a` },
      { issuer: 'https://b.example.com', jwksUri: `${server.origin}/b` },
    ],
  })
  await t.rejects(verifier.ready(), { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'status' })
  t.equal(server.count('/a'), 1)
  t.equal(server.count('/b'), 1)
  verifier.close()
})

t.test('issuers configuration mistakes', async (t) => {
  const a = await pair('RS256', 'issuer-a')
  const fail = (options: Record<string, unknown>, message: RegExp) =>
    t.throws(() => createJwtVerifier({ audience: AUDIENCE, ...options }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message,
    })
  fail({ issuers: [] }, /options\.issuers must be a non-empty array/)
  fail({ issuers: {} }, /options\.issuers must be a non-empty array/)
  fail({ issuers: ['https://a'] }, /options\.issuers\[0\] must be an object/)
  fail({ issuers: [{ key: a.pem }] }, /options\.issuers\[0\]\.issuer must be a non-empty string/)
  fail(
    {
      issuers: [
        { issuer: 'https://a', key: a.pem },
        { issuer: 'https://a', key: a.pem },
      ],
    },
    /options\.issuers\[1\]\.issuer is listed twice/,
  )
  fail(
    { issuers: [{ issuer: 'https://a', key: a.pem, jwksUri: 'https://a/jwks' }] },
    /options\.issuers\[0\] must give one key source/,
  )
  fail(
    { issuers: [{ issuer: 'not a url' }] },
    /options\.issuers\[0\]\.issuer must be an absolute URL/,
  )
  fail(
    { issuers: [{ issuer: 'https://a', jwksUri: 'http://a.example.com/jwks' }] },
    /options\.issuers\[0\]\.jwksUri must use https/,
  )
  fail(
    { issuers: [{ issuer: 'https://a', secret: 'short' }], algorithms: ['HS256'] },
    /options\.issuers\[0\]\.secret is too weak/,
  )
  fail(
    { issuer: 'https://a', issuers: [{ issuer: 'https://a', key: a.pem }] },
    /options\.issuer must not be set together with options\.issuers/,
  )
  fail(
    { key: a.pem, issuers: [{ issuer: 'https://a', key: a.pem }] },
    /options\.key must not be set together/,
  )
})
