import { createHmac } from 'node:crypto'
import {
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  type JWK,
  type JWTVerifyOptions,
} from 'jose'
import t from 'tap'
import {
  BROKEN_TOKEN_KINDS,
  TEST_AUDIENCE,
  TEST_ISSUER,
  WRONG_AUDIENCE,
  WRONG_ISSUER,
  createBrokenToken,
  createToken,
  generateKeyPair,
  generateSecret,
  type BrokenTokenKind,
  type TestKeyPair,
} from '../src/index.js'

const NOW = 1_800_000_000_000
const now = (): number => NOW
const STRICT: JWTVerifyOptions = {
  issuer: TEST_ISSUER,
  audience: TEST_AUDIENCE,
  typ: 'at+jwt',
  requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id'],
  maxTokenAge: 3600,
  currentDate: new Date(NOW),
}

// What jose's strict verification (one-key JWKS, the key's algorithm only) says about each kind.
const STRICT_OUTCOME: Record<BrokenTokenKind, { code: string; claim?: string } | 'accepted'> = {
  'alg-none': { code: 'ERR_JOSE_ALG_NOT_ALLOWED' },
  'alg-none-mixed-case': { code: 'ERR_JOSE_ALG_NOT_ALLOWED' },
  'bad-signature': { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' },
  'empty-signature': { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' },
  'wrong-key': { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' },
  'alg-mismatch': { code: 'ERR_JOSE_ALG_NOT_ALLOWED' },
  'hs256-public-key': { code: 'ERR_JOSE_ALG_NOT_ALLOWED' },
  'crit-unknown': { code: 'ERR_JOSE_NOT_SUPPORTED' },
  'jku-injection': { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' },
  'x5u-injection': { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' },
  'jwk-injection': { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' },
  'x5c-injection': { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' },
  'kid-unknown': { code: 'ERR_JWKS_NO_MATCHING_KEY' },
  'kid-missing': 'accepted',
  'kid-path-traversal': { code: 'ERR_JWKS_NO_MATCHING_KEY' },
  'kid-injection': { code: 'ERR_JWKS_NO_MATCHING_KEY' },
  'kid-not-string': { code: 'ERR_JWKS_NO_MATCHING_KEY' },
  expired: { code: 'ERR_JWT_EXPIRED', claim: 'exp' },
  'not-yet-valid': { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'nbf' },
  'issued-in-future': { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'iat' },
  'wrong-issuer': { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'iss' },
  'wrong-audience': { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud' },
  'wrong-typ': { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'typ' },
  'missing-typ': { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'typ' },
  'missing-exp': { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'exp' },
  'missing-iat': { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'iat' },
  'missing-issuer': { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'iss' },
  'missing-audience': { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud' },
  'missing-client-id': { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'client_id' },
  'exp-not-number': { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'exp' },
  'two-segments': { code: 'ERR_JWS_INVALID' },
  'four-segments': { code: 'ERR_JWS_INVALID' },
  'five-segments': { code: 'ERR_JWS_INVALID' },
  'bad-base64url': { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' },
  'header-not-json': { code: 'ERR_JWS_INVALID' },
  'payload-not-json': { code: 'ERR_JWT_INVALID' },
  'payload-not-object': { code: 'ERR_JWT_INVALID' },
  'huge-header': 'accepted',
}

const segments = (token: string): string[] => token.split('.')
const json = (segment: string | undefined): unknown =>
  JSON.parse(Buffer.from(segment ?? '', 'base64url').toString('utf8'))
const header = (token: string): Record<string, unknown> =>
  json(segments(token)[0]) as Record<string, unknown>
const claims = (token: string): Record<string, unknown> =>
  json(segments(token)[1]) as Record<string, unknown>

async function strictVerify(token: string, pair: TestKeyPair): Promise<unknown> {
  return jwtVerify(token, createLocalJWKSet({ keys: [pair.publicJwk] }), {
    ...STRICT,
    algorithms: [pair.alg],
  })
}

t.test('the table covers every kind exactly once', async (t) => {
  t.same(Object.keys(STRICT_OUTCOME).sort(), [...BROKEN_TOKEN_KINDS].sort())
  t.equal(new Set(BROKEN_TOKEN_KINDS).size, BROKEN_TOKEN_KINDS.length)
})

for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
  t.test(`every kind fails strict verification as expected (${alg})`, async (t) => {
    const pair = await generateKeyPair(alg)
    // The control: the same options without a flaw pass the same checks.
    await t.resolves(strictVerify(await createToken({ key: pair, now }), pair))
    for (const kind of BROKEN_TOKEN_KINDS) {
      const token = await createBrokenToken(kind, { key: pair, now })
      const outcome = STRICT_OUTCOME[kind]
      if (outcome === 'accepted') await t.resolves(strictVerify(token, pair), kind)
      else await t.rejects(strictVerify(token, pair), outcome, kind)
    }
  })
}

t.test('each flaw is the one named, and only that', async (t) => {
  const pair = await generateKeyPair('RS256', { kid: 'victim' })
  const make = (kind: BrokenTokenKind): Promise<string> =>
    createBrokenToken(kind, { key: pair, now, attackerUrl: 'http://127.0.0.1:9/jwks' })
  const good = await createToken({ key: pair, now, jti: 'j' })
  const goodHeader = header(good)

  let token = await make('alg-none')
  t.same(header(token), { ...goodHeader, alg: 'none' })
  t.equal(segments(token)[2], '')
  t.equal(header(await make('alg-none-mixed-case')).alg, 'nOnE')

  token = await make('bad-signature')
  t.same(header(token), goodHeader)
  await t.rejects(compactVerify(token, pair.publicKey), {
    code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  })
  t.equal(segments(await make('empty-signature'))[2], '')

  token = await make('wrong-key')
  t.equal(header(token).kid, 'victim')
  t.equal(segments(token).length, 3)

  // An RS256 key signing PS256: valid under the named algorithm, so only pinning catches it.
  token = await make('alg-mismatch')
  t.equal(header(token).alg, 'PS256')
  await t.resolves(compactVerify(token, pair.publicKey, { algorithms: ['PS256'] }))

  // Algorithm confusion: an HMAC keyed with the public key's PEM.
  token = await make('hs256-public-key')
  t.equal(header(token).alg, 'HS256')
  await t.resolves(compactVerify(token, new TextEncoder().encode(pair.publicPem)))
  const [h, p, s] = segments(token)
  t.equal(s, createHmac('sha256', pair.publicPem).update(`${h}.${p}`).digest('base64url'))

  token = await make('crit-unknown')
  t.same(header(token).crit, ['urn:bearerkit:unknown'])

  token = await make('jku-injection')
  t.equal(header(token).jku, 'http://127.0.0.1:9/jwks')
  t.equal(header(token).kid, 'victim')
  t.equal(header(await make('x5u-injection')).x5u, 'http://127.0.0.1:9/jwks')
  t.equal(
    header(await createBrokenToken('jku-injection', { key: pair })).jku,
    'https://attacker.example/jwks.json',
  )

  // The embedded key really signed the token: a verifier that trusts the header accepts it.
  token = await make('jwk-injection')
  const embedded = header(token).jwk as JWK
  t.equal(embedded.d, undefined, 'only the public part is embedded')
  t.not(embedded.n, pair.publicJwk.n)
  await t.resolves(compactVerify(token, await importJWK(embedded, 'RS256')))

  token = await make('x5c-injection')
  const x5c = header(token).x5c as string[]
  t.equal(x5c.length, 1)
  t.match(x5c[0], /^[A-Za-z0-9+/]+=*$/)

  t.match(header(await make('kid-unknown')).kid, /^unknown-/)
  t.notOk('kid' in header(await make('kid-missing')))
  t.equal(header(await make('kid-path-traversal')).kid, '../../../../../../dev/null')
  t.match(header(await make('kid-injection')).kid, /'/)
  t.equal(header(await make('kid-not-string')).kid, 42)
  // kid variants are otherwise correctly signed by the right key.
  await t.resolves(compactVerify(await make('kid-unknown'), pair.publicKey))

  t.match(claims(await make('expired')), { exp: 1_799_996_400, iat: 1_799_992_800 })
  t.equal(claims(await make('not-yet-valid')).nbf, 1_800_003_600)
  t.match(claims(await make('issued-in-future')), { iat: 1_800_003_600, exp: 1_800_007_200 })
  t.equal(claims(await make('wrong-issuer')).iss, WRONG_ISSUER)
  t.equal(claims(await make('wrong-audience')).aud, WRONG_AUDIENCE)
  t.equal(header(await make('wrong-typ')).typ, 'JWT')
  t.notOk('typ' in header(await make('missing-typ')))
  t.notOk('exp' in claims(await make('missing-exp')))
  t.notOk('iat' in claims(await make('missing-iat')))
  t.notOk('iss' in claims(await make('missing-issuer')))
  t.notOk('aud' in claims(await make('missing-audience')))
  t.notOk('client_id' in claims(await make('missing-client-id')))
  t.equal(claims(await make('exp-not-number')).exp, '1800003600')
  t.equal(
    claims(await createBrokenToken('exp-not-number', { key: pair, now, expiresIn: null })).exp,
    '1800003600',
  )

  t.equal(segments(await make('two-segments')).length, 2)
  t.equal(segments(await make('four-segments')).length, 4)
  t.equal(segments(await make('five-segments')).length, 5)
  t.match(segments(await make('bad-base64url'))[1], /=$/)
  const notJson = segments(await make('header-not-json'))[0]
  t.throws(() => json(notJson), SyntaxError)

  token = await make('payload-not-json')
  t.equal(Buffer.from(segments(token)[1] ?? '', 'base64url').toString(), 'not json')
  await t.resolves(compactVerify(token, pair.publicKey), 'correctly signed')
  token = await make('payload-not-object')
  t.ok(Array.isArray(claims(token)))
  await t.resolves(compactVerify(token, pair.publicKey))

  token = await make('huge-header')
  t.ok((segments(token)[0] ?? '').length > 64 * 1024)
})

t.test('kid-missing is refused once more than one key fits', async (t) => {
  const pair = await generateKeyPair('ES256')
  const other = await generateKeyPair('ES256')
  const token = await createBrokenToken('kid-missing', { key: pair, now })
  await t.rejects(
    jwtVerify(token, createLocalJWKSet({ keys: [pair.publicJwk, other.publicJwk] }), STRICT),
    { code: 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' },
  )
})

t.test('HMAC secrets break the same way', async (t) => {
  const secret = await generateSecret('HS256')
  const verify = (token: string, algorithms = ['HS256']): Promise<unknown> =>
    jwtVerify(token, secret.secret, { ...STRICT, algorithms })
  await t.resolves(verify(await createToken({ key: secret, now })))
  for (const kind of BROKEN_TOKEN_KINDS) {
    if (kind === 'hs256-public-key') {
      await t.rejects(createBrokenToken(kind, { key: secret, now }), {
        code: 'ERR_INVALID_ARG_VALUE',
        message: /^options\.key must be a key pair/,
      })
      continue
    }
    const token = await createBrokenToken(kind, { key: secret, now })
    const outcome = STRICT_OUTCOME[kind]
    if (kind.startsWith('kid-') || outcome === 'accepted') {
      // Without a JWKS, key ids play no part and size is not checked.
      await t.resolves(verify(token), kind)
    } else if (kind === 'jwk-injection' || kind === 'x5c-injection') {
      // A secret has no public form: the attacker's own secret is embedded as a JWK.
      t.equal((header(token).jwk as JWK).kty, 'oct')
      await t.rejects(verify(token), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' }, kind)
    } else {
      await t.rejects(verify(token), outcome, kind)
    }
  }
  // HS256 signing HS512 under the same secret: valid when HS512 is allowed.
  const mismatch = await createBrokenToken('alg-mismatch', { key: secret, now })
  t.equal(decodeProtectedHeader(mismatch).alg, 'HS512')
  await t.resolves(verify(mismatch, ['HS512']))
})

t.test('EC keys keep their own signature under a mismatched alg', async (t) => {
  const pair = await generateKeyPair('ES384')
  const token = await createBrokenToken('alg-mismatch', { key: pair, now })
  t.equal(decodeProtectedHeader(token).alg, 'ES256')
  const ed = await generateKeyPair('EdDSA')
  t.equal(decodeProtectedHeader(await createBrokenToken('alg-mismatch', { key: ed })).alg, 'ES256')
})

t.test('unknown kinds and bad options are refused', async (t) => {
  const pair = await generateKeyPair('ES256')
  await t.rejects(createBrokenToken('nope' as BrokenTokenKind, { key: pair }), {
    name: 'TypeError',
    code: 'ERR_INVALID_ARG_VALUE',
    message: /^kind must be one of BROKEN_TOKEN_KINDS/,
  })
  await t.rejects(createBrokenToken('expired', { key: pair, audience: 5 as unknown as string }), {
    message: /^options\.audience /,
  })
})
