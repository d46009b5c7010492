import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose'
import t from 'tap'
import {
  TEST_AUDIENCE,
  TEST_CLIENT_ID,
  TEST_ISSUER,
  TEST_SUBJECT,
  createToken,
  generateKeyPair,
  generateSecret,
  type CreateTokenOptions,
} from '../src/index.js'

const NOW = 1_800_000_000_000
const now = (): number => NOW

t.test('defaults make a complete RFC 9068 access token', async (t) => {
  const pair = await generateKeyPair('ES256')
  const token = await createToken({ key: pair, now })
  t.same(decodeProtectedHeader(token), { alg: 'ES256', typ: 'at+jwt', kid: pair.kid })
  const claims = decodeJwt(token)
  t.match(claims, {
    iss: TEST_ISSUER,
    sub: TEST_SUBJECT,
    aud: TEST_AUDIENCE,
    exp: 1_800_003_600,
    iat: 1_800_000_000,
    client_id: TEST_CLIENT_ID,
  })
  t.match(claims.jti, /^[0-9a-f-]{36}$/)
  t.equal(claims.scope, undefined, 'no scope claim unless scopes are given')
  t.equal(claims.nbf, undefined)
  t.not(decodeJwt(await createToken({ key: pair, now })).jti, claims.jti, 'jti is fresh each time')
  // Verifies with jose under the strict RFC 9068 checks a resource server uses.
  const { payload } = await jwtVerify(token, await importJWK(pair.publicJwk), {
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    typ: 'at+jwt',
    algorithms: ['ES256'],
    requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id'],
    currentDate: new Date(NOW),
  })
  t.equal(payload.sub, TEST_SUBJECT)
})

t.test('the FastMCP-style options land where expected', async (t) => {
  const pair = await generateKeyPair('RS256')
  const token = await createToken({
    key: pair,
    subject: 'alice',
    issuer: 'https://as.example.com',
    audience: ['https://api.example.com/mcp', 'https://other.example.com'],
    scopes: ['files:read', 'files:write', 'files:read'],
    expiresIn: 60,
    claims: { tenant: 'acme', nested: { a: 1 } },
    kid: 'chosen-kid',
    typ: 'JWT',
    clientId: 'mcp-client',
    jti: 'fixed-jti',
    nbf: 1_799_999_990,
    iat: 1_799_999_995,
    now,
  })
  t.same(decodeProtectedHeader(token), { alg: 'RS256', typ: 'JWT', kid: 'chosen-kid' })
  t.same(decodeJwt(token), {
    iss: 'https://as.example.com',
    sub: 'alice',
    aud: ['https://api.example.com/mcp', 'https://other.example.com'],
    exp: 1_800_000_060,
    iat: 1_799_999_995,
    nbf: 1_799_999_990,
    jti: 'fixed-jti',
    client_id: 'mcp-client',
    scope: 'files:read files:write',
    tenant: 'acme',
    nested: { a: 1 },
  })
})

t.test('null leaves claims and header parameters out', async (t) => {
  const pair = await generateKeyPair('EdDSA')
  const token = await createToken({
    key: pair,
    subject: null,
    issuer: null,
    audience: null,
    scopes: null,
    clientId: null,
    expiresIn: null,
    iat: null,
    nbf: null,
    jti: null,
    kid: null,
    typ: null,
    now,
  })
  t.same(decodeProtectedHeader(token), { alg: 'EdDSA' })
  t.same(decodeJwt(token), {})
})

t.test(
  'claims and header override, undefined drops, one-element audience is a string',
  async (t) => {
    const secret = await generateSecret('HS384')
    const token = await createToken({
      key: secret,
      audience: ['only-one'],
      scopes: 'a b',
      claims: { iss: 'overridden', sub: undefined, scope: ['x', 'y'] },
      header: { kid: 'header-kid', cty: 'example' },
      now,
    })
    t.same(decodeProtectedHeader(token), {
      alg: 'HS384',
      typ: 'at+jwt',
      kid: 'header-kid',
      cty: 'example',
    })
    const claims = decodeJwt(token)
    t.equal(claims.aud, 'only-one')
    t.equal(claims.iss, 'overridden')
    t.notOk('sub' in claims)
    t.same(claims.scope, ['x', 'y'])
    // A negative lifetime makes an expired token.
    t.equal(decodeJwt(await createToken({ key: secret, expiresIn: -10, now })).exp, 1_799_999_990)
  },
)

t.test('alg can name another algorithm of the key type', async (t) => {
  const pair = await generateKeyPair('RS256')
  const token = await createToken({ key: pair, alg: 'PS512', now })
  t.equal(decodeProtectedHeader(token).alg, 'PS512')
  await t.resolves(
    jwtVerify(token, pair.publicKey, { algorithms: ['PS512'], currentDate: new Date(NOW) }),
  )
  await t.rejects(
    jwtVerify(token, pair.publicKey, { algorithms: ['RS256'], currentDate: new Date(NOW) }),
    { code: 'ERR_JOSE_ALG_NOT_ALLOWED' },
  )
})

t.test('the clock defaults to Date.now', async (t) => {
  const pair = await generateKeyPair('ES256')
  const before = Math.floor(Date.now() / 1000)
  const { iat } = decodeJwt(await createToken({ key: pair }))
  const after = Math.floor(Date.now() / 1000)
  t.ok(typeof iat === 'number' && iat >= before && iat <= after)
})

t.test('bad options are TypeErrors naming the option', async (t) => {
  const pair = await generateKeyPair('ES256')
  const cases: Array<[unknown, RegExp]> = [
    [null, /^options must be an object/],
    [{}, /^options\.key must be a key from generateKeyPair or generateSecret/],
    [{ key: { alg: 'RS256' } }, /^options\.key /],
    [{ key: pair, alg: 'none' }, /^options\.alg /],
    [{ key: pair, subject: 5 }, /^options\.subject must be a string or null/],
    [{ key: pair, typ: {} }, /^options\.typ /],
    [{ key: pair, expiresIn: '60' }, /^options\.expiresIn must be a finite number or null/],
    [{ key: pair, nbf: Number.NaN }, /^options\.nbf /],
    [{ key: pair, audience: 5 }, /^options\.audience /],
    [{ key: pair, audience: ['a', 1] }, /^options\.audience /],
    [{ key: pair, scopes: [1] }, /^options\.scopes /],
    [{ key: pair, now: 5 }, /^options\.now /],
  ]
  for (const [options, message] of cases) {
    await t.rejects(createToken(options as CreateTokenOptions), {
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_VALUE',
      message,
    })
  }
})
