import t from 'tap'
import {
  createJwtVerifier,
  DEFAULT_ALGORITHMS,
  SUPPORTED_ALGORITHMS,
  type JwtVerifierOptions,
} from '../src/index.js'
import { AUDIENCE, ISSUER, NOW, pair } from './fixtures/keys.js'

t.test('configuration mistakes are TypeErrors naming the option', async (t) => {
  const rsa = await pair('RS256')
  const fail = (options: Record<string, unknown>, message: RegExp) =>
    t.throws(
      () =>
        createJwtVerifier({
          issuer: ISSUER,
          audience: AUDIENCE,
          key: rsa.pem,
          ...options,
        }),
      { code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError', message },
      String(message),
    )
  t.throws(() => createJwtVerifier(null as unknown as JwtVerifierOptions), {
    message: /^options must be an object/,
  })
  t.throws(() => createJwtVerifier('x' as unknown as JwtVerifierOptions), {
    message: /^options must be an object/,
  })
  fail({ issuer: undefined }, /^options\.issuer must be a non-empty string/)
  fail({ issuer: '' }, /^options\.issuer must be a non-empty string/)
  fail({ audience: undefined }, /^options\.audience must be/)
  fail({ audience: '' }, /^options\.audience must be/)
  fail({ audience: [] }, /^options\.audience must be/)
  fail({ audience: ['a', 3] }, /^options\.audience must be/)
  fail({ algorithms: [] }, /^options\.algorithms must be a non-empty array/)
  fail({ algorithms: 'RS256' }, /^options\.algorithms must be a non-empty array/)
  fail({ algorithms: ['none'] }, /^options\.algorithms must not contain none/)
  fail({ algorithms: ['RS256', 'NONE'] }, /^options\.algorithms must not contain none/)
  fail({ algorithms: ['RS257'] }, /^options\.algorithms contains "RS257"; supported: RS256/)
  fail({ algorithms: [256] }, /^options\.algorithms contains 256/)
  fail({ tokenTypes: [] }, /^options\.tokenTypes must be a non-empty array of typ values/)
  fail({ tokenTypes: [''] }, /^options\.tokenTypes must be/)
  fail({ tokenTypes: 'at+jwt' }, /^options\.tokenTypes must be/)
  fail({ clockTolerance: -1 }, /^options\.clockTolerance must be a finite number >= 0/)
  fail({ clockTolerance: '30' }, /^options\.clockTolerance must be a finite number/)
  fail({ clockTolerance: Infinity }, /^options\.clockTolerance must be a finite number/)
  fail({ maxTokenAge: -5 }, /^options\.maxTokenAge must be a finite number/)
  fail({ requireExpiration: 'no' }, /^options\.requireExpiration must be true or false/)
  fail({ requiredScopes: 'read' }, /^options\.requiredScopes must be an array of scope tokens/)
  fail({ requiredScopes: ['a b'] }, /^options\.requiredScopes must be an array of scope tokens/)
  fail({ validate: true }, /^options\.validate must be a function/)
  fail({ now: 5 }, /^options\.now must be a function/)
  fail({ fetch: {} }, /^options\.fetch must be a function/)
  fail({ claims: { clientId: [] } }, /^options\.claims\.clientId must be a non-empty array/)
  // jwks settings are checked even next to a static key, where they have no effect.
  fail({ jwks: { maxAge: 0 } }, /^options\.jwks\.maxAge must be a finite number >= 1/)
  fail({ timeout: 0 }, /^options\.timeout must be a finite number >= 1/)
  fail({ requireIssuedAt: 'yes' }, /^options\.requireIssuedAt must be true or false/)
  fail(
    { requireIssuedAt: false, maxTokenAge: 60 },
    /^options\.requireIssuedAt cannot be false with options\.maxTokenAge/,
  )
  t.throws(() => createJwtVerifier(Promise.resolve({}) as never), {
    message: /^options is a Promise: did you forget `await`\?/,
  })
  fail(
    { key: undefined, jwksUri: 'https://as.example.com/jwks', jwks: { maxAge: 0 } },
    /^options\.jwks\.maxAge must be a finite number >= 1/,
  )
  fail(
    { key: undefined, jwksUri: 'https://as.example.com/jwks', jwks: { cooldown: -1 } },
    /^options\.jwks\.cooldown must be/,
  )
  fail(
    { key: undefined, jwksUri: 'https://as.example.com/jwks', jwks: { timeout: 0 } },
    /^options\.jwks\.timeout must be a finite number >= 1/,
  )
  fail(
    { key: undefined, jwksUri: 'https://as.example.com/jwks', jwks: { maxBytes: 10 } },
    /^options\.jwks\.maxBytes must be a finite number >= 1024/,
  )
  fail(
    { key: undefined, jwksUri: 'https://as.example.com/jwks', jwks: 'fast' },
    /^options\.jwks must be an object/,
  )
  fail({ key: undefined, jwksUri: 'ftp://as.example.com/jwks' }, /^options\.jwksUri must use https/)
  fail(
    { key: undefined, jwksUri: 'https://user:pw@as.example.com/jwks' },
    /^options\.jwksUri must not contain credentials/,
  )
  fail({ key: undefined, jwksUri: 42 }, /^options\.jwksUri must be a URL string/)
  fail(
    { jwksUri: 'https://as.example.com/jwks' },
    /^options must give one key source: jwksUri or key \(or secret\), not both/,
  )
  fail({ key: undefined, issuer: 'as.example.com' }, /^options\.issuer must be an absolute URL/)
  fail({ key: undefined, issuer: 'http://as.example.com' }, /^options\.issuer must use https/)
})

t.test('defaults and accepted forms', async (t) => {
  const rsa = await pair('RS256')
  t.same(DEFAULT_ALGORITHMS, [
    'RS256',
    'RS384',
    'RS512',
    'PS256',
    'PS384',
    'PS512',
    'ES256',
    'ES384',
    'ES512',
    'EdDSA',
  ])
  t.ok(SUPPORTED_ALGORITHMS.includes('HS256'))
  t.ok(Object.isFrozen(DEFAULT_ALGORITHMS))
  // A non-URL issuer is fine with a static key or a JWKS URI (only discovery needs a URL).
  t.ok(createJwtVerifier({ issuer: 'urn:example:as', audience: AUDIENCE, key: rsa.pem }))
  t.ok(
    createJwtVerifier({
      issuer: 'urn:example:as',
      audience: AUDIENCE,
      jwksUri: new URL('https://as.example.com/jwks'),
    }),
  )
  t.ok(
    createJwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      key: rsa.pem,
      algorithms: ['RS256', 'RS256'],
    }),
  )
  const verifier = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, key: rsa.pem })
  await verifier.ready()
  verifier.close()
  // A static key verifier is closed too: later verifications are unavailable, not accepted.
  await t.rejects(verifier.ready(), { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'closed' })
  const { mint } = await import('./fixtures/keys.js')
  await t.rejects(verifier.verifyToken(await mint(rsa)), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'closed',
  })
  t.equal(typeof verifier.verifyToken, 'function')
})

t.test('unknown options are refused, naming the nearest valid one', async (t) => {
  const rsa = await pair('RS256')
  const { mint } = await import('./fixtures/keys.js')
  const base = { issuer: ISSUER, audience: AUDIENCE, key: rsa.pem }
  // Before: requiredScope (a typo of requiredScopes) was ignored, and a token without admin passed.
  t.throws(() => createJwtVerifier({ ...base, requiredScope: ['admin'] } as never), {
    code: 'ERR_INVALID_ARG_VALUE',
    name: 'TypeError',
    message: 'options.requiredScope is not a known option: did you mean `requiredScopes`?',
  })
  const admin = createJwtVerifier({ ...base, requiredScopes: ['admin'], now: () => NOW })
  const { outcome } = await import('./fixtures/outcome.js')
  t.equal(await outcome(admin, await mint(rsa)), 'insufficient_scope')
  const cases: Array<[Record<string, unknown>, string]> = [
    [
      { jwks_uri: 'https://as.example.com/jwks' },
      'options.jwks_uri is not a known option: did you mean `jwksUri`?',
    ],
    [
      { jwksUrl: 'https://as.example.com/jwks' },
      'options.jwksUrl is not a known option: did you mean `jwksUri`?',
    ],
    [{ algorithm: 'RS256' }, 'options.algorithm is not a known option: did you mean `algorithms`?'],
    [
      { audiences: [AUDIENCE] },
      'options.audiences is not a known option: did you mean `audience`?',
    ],
    [{ clockSkew: 5 }, 'options.clockSkew is not a known option'],
    [
      { jwks: { timout: 100 } },
      'options.jwks.timout is not a known option: did you mean `timeout`?',
    ],
    [
      { jwks: { max_age: 100 } },
      'options.jwks.max_age is not a known option: did you mean `maxAge`?',
    ],
    [
      { claims: { scope: ['scp'] } },
      'options.claims.scope is not a known option: did you mean `scopes`?',
    ],
    [
      { claims: { clientID: ['cid'] } },
      'options.claims.clientID is not a known option: did you mean `clientId`?',
    ],
  ]
  for (const [extra, message] of cases) {
    t.throws(
      () => createJwtVerifier({ ...base, ...extra }),
      {
        code: 'ERR_INVALID_ARG_VALUE',
        message: new RegExp(`^${message.replace(/[.*?()[\]`$]/g, '\\$&')}`),
      },
      message,
    )
  }
  t.throws(
    () =>
      createJwtVerifier({
        audience: AUDIENCE,
        issuers: [{ issuer: ISSUER, jwks_uri: 'https://as.example.com/jwks' }],
      } as never),
    { message: /^options\.issuers\[0\]\.jwks_uri is not a known option: did you mean `jwksUri`\?/ },
  )
  t.throws(
    () =>
      createJwtVerifier({
        audience: AUDIENCE,
        issuers: [{ issuer: ISSUER, key: rsa.pem, audience: 'x' }],
      } as never),
    { message: /^options\.issuers\[0\]\.audience is not a known option/ },
  )
  t.throws(() => createJwtVerifier({ ...base, jwks: Promise.resolve({}) } as never), {
    message: /^options\.jwks is a Promise/,
  })
  const { createKeyResolver, createJwsVerifier } = await import('../src/index.js')
  t.throws(() => createKeyResolver({ key: rsa.pem, algorithm: ['RS256'] } as never), {
    message: /^options\.algorithm is not a known option: did you mean `algorithms`\?/,
  })
  t.throws(() => createKeyResolver({ key: rsa.pem, audience: 'x' } as never, 'assertionKeys'), {
    message: /^assertionKeys\.audience is not a known option/,
  })
  const keys = createKeyResolver({ key: rsa.pem })
  t.throws(() => createJwsVerifier({ keys, types: null, type: ['JWT'] } as never), {
    message: /^options\.type is not a known option: did you mean `types`\?/,
  })
  t.throws(() => createJwsVerifier({ keys, types: null, critical: ['x'] } as never), {
    message: /^options\.critical is not a known option/,
  })
})

t.test('timeout bounds discovery and JWKS requests (BEARERKIT_TIMEOUT)', async (t) => {
  const { startServer } = await import('./fixtures/jwks-server.js')
  const server = await startServer()
  t.teardown(() => server.close())
  // Never answers: only the deadline ends the request.
  server.route('/hang', () => undefined)
  for (const options of [
    { timeout: 50 },
    { jwks: { timeout: 50 } },
    { timeout: 60_000, jwks: { timeout: 50 } },
  ]) {
    const verifier = createJwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `${server.origin}/hang`,
      ...options,
    })
    t.teardown(() => verifier.close())
    const started = performance.now()
    await t.rejects(
      verifier.ready(),
      { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'timeout' },
      JSON.stringify(options),
    )
    t.ok(performance.now() - started < 5000, 'well before the 5 s default')
  }
  // With a static key a timeout has nothing to bound, and is accepted (one environment for all).
  const rsa = await pair('RS256')
  t.ok(createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, key: rsa.pem, timeout: 2000 }))
  t.ok(
    createJwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      key: rsa.pem,
      jwks: { timeout: 2000 },
    }),
  )
})
