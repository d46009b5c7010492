import t from 'tap'
import {
  createMemoryRevocationList,
  createVerifier,
  revokeSubject,
  verifierConfigFromEnv,
  type TokenVerifier,
  type VerifierConfig,
} from '../src/index.js'
import { accessToken, fakeJwt } from './fixtures/tokens.js'

interface Built {
  factory: string
  options: unknown
  closed: number
  readied: number
}

// Stand-ins for the verifier packages: each verifier answers with its kind as the client id and
// counts ready() and close() calls.
function packages(built: Built[], extras: { fail?: string } = {}) {
  const make =
    (factory: string) =>
    (...args: unknown[]) => {
      if (factory === extras.fail) throw new TypeError('options.issuer bad')
      const entry: Built = { factory, options: args.at(-1), closed: 0, readied: 0 }
      built.push(entry)
      return {
        verifyToken: async (token: string) => accessToken(token, { clientId: factory }),
        ready: async () => {
          entry.readied++
        },
        close: () => {
          entry.closed++
        },
      }
    }
  return async (name: string): Promise<unknown> => {
    switch (name) {
      case '@bearerkit/jwt':
        return { createJwtVerifier: make('jwt') }
      case '@bearerkit/introspection':
        return { createIntrospectionVerifier: make('introspection') }
      case '@bearerkit/provider':
        return { createProviderVerifier: make('provider') }
      default:
        throw new Error(`unexpected ${name}`)
    }
  }
}

const JWT = fakeJwt({ iss: 'https://as', sub: 'alice' })
const PARTNER_JWT = fakeJwt({ iss: 'https://partner', sub: 'bob' })

t.test('composite config: JWTs to jwt, everything else to opaque', async (t) => {
  const built: Built[] = []
  const verifier = await createVerifier(
    {
      type: 'composite',
      jwt: { type: 'jwt', issuer: 'https://as', audience: 'https://rs' },
      opaque: { type: 'introspection', issuer: 'https://as', audience: 'https://rs' },
    },
    { load: packages(built) },
  )
  t.equal((await verifier.verifyToken(JWT))?.clientId, 'jwt')
  t.equal((await verifier.verifyToken('opaque-token'))?.clientId, 'introspection')
  t.same(
    built.map((b) => [b.factory, b.options]),
    [
      ['jwt', { issuer: 'https://as', audience: 'https://rs' }],
      ['introspection', { issuer: 'https://as', audience: 'https://rs' }],
    ],
  )
  await verifier.ready()
  t.same(
    built.map((b) => b.readied),
    [1, 1],
    'ready() readies every part',
  )
  await verifier.close()
  t.same(
    built.map((b) => b.closed),
    [1, 1],
    'close() closes every part it built',
  )
})

t.test(
  'composite config: issuers route by iss; a ready-made verifier is used, not closed',
  async (t) => {
    const built: Built[] = []
    let closed = 0
    const mine: TokenVerifier & { close(): void } = {
      verifyToken: async (token) => accessToken(token, { clientId: 'mine' }),
      close: () => {
        closed++
      },
    }
    const verifier = await createVerifier(
      {
        type: 'composite',
        issuers: {
          'https://as': { type: 'jwt', issuer: 'https://as', audience: 'https://rs' },
          'https://partner': mine,
        },
      },
      { load: packages(built) },
    )
    t.equal((await verifier.verifyToken(JWT))?.clientId, 'jwt')
    t.equal((await verifier.verifyToken(PARTNER_JWT))?.clientId, 'mine')
    t.equal(await verifier.verifyToken('opaque-token'), null, 'no route: refused, not an error')
    await verifier.close()
    t.equal(closed, 0, 'the caller owns what the caller built')
    t.equal(built[0]?.closed, 1)
  },
)

t.test('composite config: cache in front, mistakes named by path', async (t) => {
  const built: Built[] = []
  const load = packages(built)
  const cached = await createVerifier(
    { type: 'composite', jwt: { type: 'jwt', audience: 'a' }, cache: { ttl: 5 } },
    { load },
  )
  t.equal((await cached.verifyToken(JWT))?.clientId, 'jwt')
  const cases: Array<[unknown, RegExp]> = [
    [{ type: 'composite' }, /^config of type composite needs issuers, jwt or opaque/],
    [{ type: 'composite', fallback: {} }, /^config\.fallback is not a known option/],
    [
      { type: 'composite', jwt: { type: 'composite', opaque: {} } },
      /^config\.jwt\.type must be one of jwt, introspection, provider/,
    ],
    [{ type: 'composite', opaque: { type: 'saml' } }, /^config\.opaque\.type must be one of/],
    [{ type: 'composite', issuers: [] }, /^config\.issuers must be an object/],
    [
      { type: 'composite', issuers: { 'https://as': Promise.resolve({}) } },
      /^config\.issuers\["https:\/\/as"\] is a Promise: did you forget `await`\?/,
    ],
  ]
  for (const [config, message] of cases) {
    await t.rejects(createVerifier(config as VerifierConfig, { load }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message,
    })
  }
})

t.test(
  'composite config: a part that fails to build closes the parts built before it',
  async (t) => {
    const built: Built[] = []
    await t.rejects(
      createVerifier(
        {
          type: 'composite',
          jwt: { type: 'jwt', audience: 'a' },
          opaque: { type: 'introspection', audience: 'a' },
        },
        { load: packages(built, { fail: 'introspection' }) },
      ),
      { message: 'options.issuer bad' },
    )
    t.same(
      built.map((b) => [b.factory, b.closed]),
      [['jwt', 1]],
    )
  },
)

t.test('createVerifier loads the real package by default; load must be a function', async (t) => {
  const verifier = await createVerifier({
    type: 'jwt',
    issuer: 'https://as.example',
    audience: 'https://rs.example',
    key: { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA' },
    algorithms: ['HS256'],
  })
  t.equal(await verifier.verifyToken('not-a-jwt'), null)
  await verifier.close()
  await t.rejects(createVerifier({ type: 'jwt', audience: 'a' }, { load: 'jwt' as never }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /^options\.load must be a function/,
  })
})

t.test('every configured verifier has ready() and close() returning promises', async (t) => {
  const bare = async () => ({
    createProviderVerifier: () => ({ verifyToken: async () => null }),
  })
  const verifier = await createVerifier(
    { type: 'provider', provider: { loadAccessToken: () => null }, audience: null },
    { load: bare },
  )
  t.equal(await verifier.ready(), undefined)
  t.equal(await verifier.close(), undefined)
  t.equal(await verifier.verifyToken('x'), null)

  const failing = async () => ({
    createJwtVerifier: () => ({
      verifyToken: async () => null,
      ready: () => Promise.reject(new Error('JWKS down')),
      close: () => {
        throw new Error('close failed')
      },
    }),
  })
  const jwt = await createVerifier({ type: 'jwt', audience: 'a' }, { load: failing })
  await t.rejects(jwt.ready(), { message: 'JWKS down' })
  await t.rejects(jwt.close(), { message: 'close failed' })
})

t.test('verifierConfigFromEnv: VERIFIER=jwt,introspection builds a composite', async (t) => {
  const config = verifierConfigFromEnv({
    BEARERKIT_VERIFIER: 'jwt,introspection',
    BEARERKIT_JWT_ISSUER: 'https://as',
    BEARERKIT_JWT_AUDIENCE: 'https://rs',
    BEARERKIT_OPAQUE_ISSUER: 'https://as',
    BEARERKIT_OPAQUE_AUDIENCE: 'https://rs',
    BEARERKIT_OPAQUE_CLIENT_ID: 'rs',
    BEARERKIT_OPAQUE_CLIENT_SECRET: 's3cret',
  })
  t.same(config, {
    type: 'composite',
    jwt: { type: 'jwt', issuer: 'https://as', audience: 'https://rs' },
    opaque: {
      type: 'introspection',
      issuer: 'https://as',
      audience: 'https://rs',
      clientId: 'rs',
      clientSecret: 's3cret',
    },
  })
  const built: Built[] = []
  const verifier = await createVerifier(config as VerifierConfig, { load: packages(built) })
  t.equal((await verifier.verifyToken('opaque'))?.clientId, 'introspection')
})

t.test('verifierConfigFromEnv: composite mistakes name the variable', async (t) => {
  const parts = {
    BEARERKIT_JWT_ISSUER: 'https://as',
    BEARERKIT_JWT_AUDIENCE: 'a',
    BEARERKIT_OPAQUE_PROVIDER_MODULE: './p.js',
    BEARERKIT_OPAQUE_AUDIENCE: 'a',
  }
  t.same(verifierConfigFromEnv({ BEARERKIT_VERIFIER: 'jwt,provider', ...parts }), {
    type: 'composite',
    jwt: { type: 'jwt', issuer: 'https://as', audience: 'a' },
    opaque: { type: 'provider', audience: 'a', providerModule: './p.js' },
  })
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ BEARERKIT_VERIFIER: 'jwt,jwt', ...parts }, /^BEARERKIT_VERIFIER must be /],
    [{ BEARERKIT_VERIFIER: 'introspection,jwt', ...parts }, /^BEARERKIT_VERIFIER must be /],
    [{ BEARERKIT_VERIFIER: 'jwt,provider,introspection', ...parts }, /^BEARERKIT_VERIFIER /],
    [
      { BEARERKIT_VERIFIER: 'jwt,provider', ...parts, BEARERKIT_ISSUER: 'https://as' },
      /^BEARERKIT_ISSUER is not used when VERIFIER is jwt,provider: set BEARERKIT_JWT_ISSUER or BEARERKIT_OPAQUE_ISSUER/,
    ],
    [
      {
        BEARERKIT_VERIFIER: 'jwt,provider',
        BEARERKIT_JWT_ISSUER: 'https://as',
        BEARERKIT_OPAQUE_AUDIENCE: 'a',
        BEARERKIT_OPAQUE_PROVIDER_MODULE: './p.js',
      },
      /^BEARERKIT_JWT_AUDIENCE is required/,
    ],
  ]
  for (const [env, message] of cases) {
    t.throws(() => verifierConfigFromEnv(env), { code: 'ERR_INVALID_ARG_VALUE', message })
  }
})

t.test('verifierConfigFromEnv: several issuers, each with its own key source', async (t) => {
  t.same(
    verifierConfigFromEnv({
      BEARERKIT_VERIFIER: 'jwt',
      BEARERKIT_AUDIENCE: 'https://rs',
      BEARERKIT_ISSUER_1: 'https://login.example.com',
      BEARERKIT_ISSUER_2: 'https://partner.example.net',
      BEARERKIT_ISSUER_2_JWKS_URI: 'https://partner.example.net/keys',
      BEARERKIT_ISSUER_10: 'https://legacy.example.org',
      BEARERKIT_ISSUER_10_KEY: '-----BEGIN PUBLIC KEY-----\\nABC\\n-----END PUBLIC KEY-----',
    }),
    {
      type: 'jwt',
      audience: 'https://rs',
      issuers: [
        { issuer: 'https://login.example.com' },
        { issuer: 'https://partner.example.net', jwksUri: 'https://partner.example.net/keys' },
        {
          issuer: 'https://legacy.example.org',
          key: '-----BEGIN PUBLIC KEY-----\nABC\n-----END PUBLIC KEY-----',
        },
      ],
    },
    'numbered in order, 10 after 2',
  )
  const base = { BEARERKIT_VERIFIER: 'jwt', BEARERKIT_AUDIENCE: 'a' }
  t.same(
    verifierConfigFromEnv({
      ...base,
      BEARERKIT_ISSUER: 'https://as',
      BEARERKIT_ISSUER_NAME: 'not ours',
      BEARERKIT_ISSUER_2: undefined,
    }),
    { type: 'jwt', issuer: 'https://as', audience: 'a' },
    'other ISSUER_ variables and unset ones are not issuers',
  )
  const cases: Array<[Record<string, string>, RegExp]> = [
    [
      { ...base, BEARERKIT_ISSUER_1_JWKS_URI: 'https://x/keys' },
      /^BEARERKIT_ISSUER_1_JWKS_URI needs BEARERKIT_ISSUER_1/,
    ],
    [
      { ...base, BEARERKIT_ISSUER: 'https://a', BEARERKIT_ISSUER_1: 'https://b' },
      /^BEARERKIT_ISSUER_1 cannot be combined with BEARERKIT_ISSUER/,
    ],
    [
      { ...base, BEARERKIT_ISSUER_1: 'https://b', BEARERKIT_ISSUER_1_KEY: '{bad' },
      /^BEARERKIT_ISSUER_1_KEY is not valid JSON/,
    ],
    [{ ...base, BEARERKIT_ISSUER_1: '' }, /^BEARERKIT_ISSUER_1 is set but empty/],
    [{ ...base, BEARERKIT_ISSUER_01: 'https://b' }, /^BEARERKIT_ISSUER_01 /],
    [
      {
        BEARERKIT_VERIFIER: 'introspection',
        BEARERKIT_AUDIENCE: 'a',
        BEARERKIT_ISSUER: 'https://as',
        BEARERKIT_ISSUER_1: 'https://b',
      },
      /^BEARERKIT_ISSUER_1 is not used when VERIFIER is introspection/,
    ],
  ]
  for (const [env, message] of cases) {
    t.throws(() => verifierConfigFromEnv(env), { code: 'ERR_INVALID_ARG_VALUE', message })
  }
})

t.test('verifierConfigFromEnv: jwks settings', async (t) => {
  t.same(
    verifierConfigFromEnv({
      BEARERKIT_VERIFIER: 'jwt',
      BEARERKIT_ISSUER: 'https://as',
      BEARERKIT_AUDIENCE: 'a',
      BEARERKIT_JWKS_MAX_AGE: '300',
      BEARERKIT_JWKS_COOLDOWN: '30',
      BEARERKIT_JWKS_STALE_IF_ERROR: '0',
      BEARERKIT_TIMEOUT: '2000',
    }),
    {
      type: 'jwt',
      issuer: 'https://as',
      audience: 'a',
      jwks: { maxAge: 300, cooldown: 30, staleIfError: 0, timeout: 2000 },
    },
  )
  t.throws(
    () =>
      verifierConfigFromEnv({
        BEARERKIT_VERIFIER: 'introspection',
        BEARERKIT_ISSUER: 'https://as',
        BEARERKIT_AUDIENCE: 'a',
        BEARERKIT_JWKS_MAX_AGE: '300',
      }),
    { message: /^BEARERKIT_JWKS_MAX_AGE is not used when VERIFIER is introspection/ },
  )
  t.throws(
    () =>
      verifierConfigFromEnv({
        BEARERKIT_VERIFIER: 'jwt',
        BEARERKIT_ISSUER: 'https://as',
        BEARERKIT_AUDIENCE: 'a',
        BEARERKIT_JWKS_COOLDOWN: 'soon',
      }),
    { message: /^BEARERKIT_JWKS_COOLDOWN must be a number/ },
  )
})

t.test(
  'composite config: revocations checked once, on the composite, with or without cache',
  async (t) => {
    const T = 1_700_000_000
    const revocations = createMemoryRevocationList({ now: () => T * 1000 })
    const seen: unknown[] = []
    const load = async () => ({
      createIntrospectionVerifier: (options: unknown) => {
        seen.push(options)
        return {
          verifyToken: async (token: string) =>
            accessToken(token, { subject: 'alice', issuer: 'https://as', claims: { iat: T - 1 } }),
        }
      },
    })
    const cached = await createVerifier(
      {
        type: 'composite',
        opaque: { type: 'introspection', audience: 'a' },
        cache: { ttl: 60, now: () => T * 1000 },
      },
      { load, revocations },
    )
    const uncached = await createVerifier(
      { type: 'composite', opaque: { type: 'introspection', audience: 'a' } },
      { load, revocations },
    )
    t.ok(await cached.verifyToken('opaque'))
    t.ok(await uncached.verifyToken('opaque'))
    t.same(seen, [{ audience: 'a' }, { audience: 'a' }], 'the parts get no revocation list')
    await revokeSubject(revocations, { issuer: 'https://as', subject: 'alice' }, { before: T })
    t.equal(await cached.verifyToken('opaque'), null, 'a cache hit is checked too')
    t.equal(await uncached.verifyToken('opaque'), null)
    await t.rejects(
      createVerifier(
        { type: 'composite', opaque: { type: 'introspection', audience: 'a' }, cache: 5 } as never,
        { load },
      ),
      {
        code: 'ERR_INVALID_ARG_VALUE',
        message: /^config\.cache must be an options object or false/,
      },
    )
  },
)
