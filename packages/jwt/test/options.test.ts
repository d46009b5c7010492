import t from 'tap'
import {
  createJwtVerifier,
  DEFAULT_ALGORITHMS,
  SUPPORTED_ALGORITHMS,
  type JwtVerifierOptions,
} from '../src/index.js'
import { AUDIENCE, ISSUER, pair } from './fixtures/keys.js'

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
  fail({ requireExpiration: 'no' }, /^options\.requireExpiration must be a boolean/)
  fail({ requiredScopes: 'read' }, /^options\.requiredScopes must be an array of scope tokens/)
  fail({ requiredScopes: ['a b'] }, /^options\.requiredScopes must be an array of scope tokens/)
  fail({ validate: true }, /^options\.validate must be a function/)
  fail({ now: 5 }, /^options\.now must be a function/)
  fail({ fetch: {} }, /^options\.fetch must be a function/)
  fail({ claims: { clientId: [] } }, /^options\.claims\.clientId must be a non-empty array/)
  fail(
    { jwks: { maxAge: 60 } },
    /^options\.jwks applies to a JWKS URI or discovery, not a static key/,
  )
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
    /^options must give one key source: jwksUri or key, not both/,
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
