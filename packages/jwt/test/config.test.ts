import { createVerifier, verifierConfigFromEnv } from '@bearerkit/core'
import t from 'tap'
import { AUDIENCE, ISSUER, mint, pair, rawToken } from './fixtures/keys.js'
import { outcome } from './fixtures/outcome.js'

// Core's environment wiring names these options; they must keep working.
t.test('a verifier described by environment variables', async (t) => {
  const es = await pair('ES256')
  const config = verifierConfigFromEnv({
    BEARERKIT_VERIFIER: 'jwt',
    BEARERKIT_ISSUER: ISSUER,
    BEARERKIT_AUDIENCE: `https://other.example.com,${AUDIENCE}`,
    BEARERKIT_KEY: JSON.stringify(es.jwk),
    BEARERKIT_ALGORITHMS: 'ES256,EdDSA',
    BEARERKIT_TOKEN_TYPES: 'at+jwt,JWT',
    BEARERKIT_CLOCK_TOLERANCE: '300',
    BEARERKIT_MAX_TOKEN_AGE: '3600',
    BEARERKIT_REQUIRED_SCOPES: 'read',
    BEARERKIT_TIMEOUT: '2000',
  })
  t.ok(config)
  const verifier = await createVerifier(config ?? { type: 'jwt', audience: null }, {
    load: () => import('../src/index.js'),
  })
  // No clock can be given through the environment: the claims are set around the real time.
  const now = Date.now() / 1000
  const fresh = { iat: now - 10, exp: now + 600 }
  const check = async (claims: Record<string, unknown>, header?: Record<string, unknown>) =>
    outcome(
      verifier,
      await mint(es, { claims: { ...fresh, ...claims }, ...(header ? { header } : {}) }),
    )
  t.equal(await check({}), 'accepted')
  t.equal(await check({}, { typ: 'JWT' }), 'accepted')
  t.equal(
    await outcome(verifier, rawToken({ alg: 'ES384', typ: 'at+jwt' }, { ...fresh })),
    'algorithm_not_allowed',
  )
  t.equal(await check({ aud: 'https://x.example.com' }), 'wrong_audience')
  t.equal(await check({ scope: 'write' }), 'insufficient_scope')
  t.equal(await check({ iat: now - 7200 }), 'too_old', 'older than 3600 + 300 s')
  t.equal(
    await outcome(verifier, await mint(es, { claims: { iat: now - 500, exp: now - 400 } })),
    'expired',
  )
  t.equal(
    await outcome(verifier, await mint(es, { claims: { iat: now - 500, exp: now - 200 } })),
    'accepted',
  )
})

t.test('a PEM key from the environment, with escaped newlines', async (t) => {
  const rsa = await pair('RS256')
  const config = verifierConfigFromEnv({
    BEARERKIT_VERIFIER: 'jwt',
    BEARERKIT_ISSUER: ISSUER,
    BEARERKIT_AUDIENCE: AUDIENCE,
    BEARERKIT_KEY: rsa.pem.replace(/\n/g, '\\n'),
  })
  const verifier = await createVerifier(config ?? { type: 'jwt', audience: null }, {
    load: () => import('../src/index.js'),
  })
  const now = Date.now() / 1000
  t.equal(
    await outcome(verifier, await mint(rsa, { claims: { iat: now, exp: now + 60 } })),
    'accepted',
  )
})
