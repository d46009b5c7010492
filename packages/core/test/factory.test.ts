import t from 'tap'
import {
  createVerifier,
  verifierConfigFromEnv,
  type TokenVerifier,
  type VerifierConfig,
} from '../src/index.js'
import { accessToken } from './fixtures/tokens.js'

interface Recorded {
  factory: string
  args: unknown[]
}

// A stand-in for the verifier packages: records what createVerifier hands to each factory.
const fakeLoader = (recorded: Recorded[]) => async (name: string) => {
  const make =
    (factory: string) =>
    (...args: unknown[]): TokenVerifier & { ready(): string } => {
      recorded.push({ factory, args })
      return {
        verifyToken: async (token) => accessToken(token, { clientId: factory }),
        ready: () => `${factory} ready`,
      }
    }
  switch (name) {
    case '@bearerkit/jwt':
      return { createJwtVerifier: make('jwt') }
    case '@bearerkit/introspection':
      return { createIntrospectionVerifier: make('introspection') }
    case '@bearerkit/provider':
      return { createProviderVerifier: make('provider') }
    default:
      return import(name) as Promise<unknown>
  }
}

t.test('createVerifier hands options to the package factory', async (t) => {
  const recorded: Recorded[] = []
  const load = fakeLoader(recorded)
  const jwt = await createVerifier({ type: 'jwt', issuer: 'https://as', audience: 'a' }, { load })
  t.equal((await jwt.verifyToken('x'))?.clientId, 'jwt')
  t.same(recorded[0], { factory: 'jwt', args: [{ issuer: 'https://as', audience: 'a' }] })

  await createVerifier({ type: 'introspection', audience: null, cache: { ttl: 5 } }, { load })
  t.same(recorded[1]?.args, [{ audience: null, cache: { ttl: 5 } }], 'introspection keeps cache')
  await createVerifier({ type: 'introspection', audience: null }, { load })
  t.same(recorded[2]?.args, [{ audience: null }])

  const provider = { loadAccessToken: () => null }
  await createVerifier(
    { type: 'provider', provider, requiredScopes: ['a'] } as unknown as VerifierConfig,
    { load },
  )
  t.same(recorded[3]?.args, [provider, { requiredScopes: ['a'] }])
})

t.test('cache config wraps jwt and provider verifiers and keeps their extras', async (t) => {
  const recorded: Recorded[] = []
  let calls = 0
  const load = async () => ({
    createJwtVerifier: (...args: unknown[]) => {
      recorded.push({ factory: 'jwt', args })
      return {
        verifyToken: async (token: string) => {
          calls++
          return accessToken(token)
        },
        ready: () => 'ready',
      }
    },
  })
  const v = await createVerifier(
    { type: 'jwt', issuer: 'https://as', cache: { ttl: 60 } } as unknown as VerifierConfig,
    { load },
  )
  await v.verifyToken('a')
  await v.verifyToken('a')
  t.equal(calls, 1, 'second call served from the cache')
  t.equal(await v.ready(), undefined, 'ready() is kept, and always a promise')
  t.same(recorded[0]?.args, [{ issuer: 'https://as' }], 'cache is not passed to the package')
  const uncached = await createVerifier({ type: 'jwt', cache: false } as VerifierConfig, { load })
  await uncached.verifyToken('b')
  await uncached.verifyToken('b')
  t.equal(calls, 3)
})

t.test('a jwt verifier is cached by default; cache: false turns it off', async (t) => {
  let calls = 0
  const load = async () => ({
    createJwtVerifier: () => ({
      verifyToken: async (token: string) => {
        calls++
        return accessToken(token)
      },
      close: () => 'closed',
    }),
    createProviderVerifier: () => ({
      verifyToken: async (token: string) => {
        calls++
        return accessToken(token)
      },
    }),
  })
  const v = await createVerifier({ type: 'jwt', issuer: 'https://as' }, { load })
  t.equal((await v.verifyToken('a'))?.token, 'a')
  t.equal((await v.verifyToken('a'))?.token, 'a')
  t.equal(calls, 1, 'the second verification is a cache hit')
  t.equal((await v.verifyToken('c'))?.token, 'c', 'another token is not served the first answer')
  t.equal(calls, 2)
  t.equal(await v.close(), undefined, 'close() is kept, and always a promise')
  const off = await createVerifier({ type: 'jwt', issuer: 'https://as', cache: false }, { load })
  await off.verifyToken('a')
  await off.verifyToken('a')
  t.equal(calls, 4, 'cache: false verifies every time')
  const provider = await createVerifier(
    { type: 'provider', provider: {} } as unknown as VerifierConfig,
    { load },
  )
  await provider.verifyToken('a')
  await provider.verifyToken('a')
  t.equal(calls, 6, 'a provider verifier is cached only when asked')
})

t.test('the default jwt cache reads the clock and leeway given to the verifier', async (t) => {
  let calls = 0
  let clock = 50_000
  const load = async () => ({
    createJwtVerifier: (options: { now: () => number }) => ({
      verifyToken: async (token: string) => {
        calls++
        // Refuses from exp (100 s) on, by the injected clock, as the jwt verifier would.
        return options.now() >= 100_000 ? null : accessToken(token, { expiresAt: 100 })
      },
    }),
  })
  const v = await createVerifier({ type: 'jwt', now: () => clock }, { load })
  t.ok(await v.verifyToken('a'))
  t.ok(await v.verifyToken('a'))
  t.equal(calls, 1, 'cached: the entry lives on the injected clock (Date.now is past exp)')
  clock = 129_999
  t.ok(await v.verifyToken('a'), "a hit inside the jwt verifier's default leeway (30 s)")
  t.equal(calls, 1)
  clock = 130_000
  t.equal(await v.verifyToken('a'), null, 'no hit once the injected clock reaches exp + 30 s')
  t.equal(calls, 2, 'the verifier decides again')
  const strict = await createVerifier(
    { type: 'jwt', now: () => clock, clockTolerance: 0 },
    { load },
  )
  clock = 50_000
  t.ok(await strict.verifyToken('b'))
  clock = 100_000
  t.equal(await strict.verifyToken('b'), null, 'the leeway is the one given to the verifier')
  t.equal(calls, 4)
})

t.test('provider from a module path', async (t) => {
  const recorded: Recorded[] = []
  const load = fakeLoader(recorded)
  const relative = './packages/core/test/fixtures/provider-module.ts'
  await createVerifier({ type: 'provider', providerModule: relative } as VerifierConfig, { load })
  const provider = recorded[0]?.args[0] as { loadAccessToken(t: string): unknown }
  t.match(provider.loadAccessToken('x'), { clientId: 'from-module' })
  await t.rejects(
    createVerifier({ type: 'provider', providerModule: '' } as VerifierConfig, { load }),
    {
      message: /^config\.providerModule /,
    },
  )
  await t.rejects(createVerifier({ type: 'provider' } as VerifierConfig, { load }), {
    message: /^config\.provider is required/,
  })
  await t.rejects(
    createVerifier(
      {
        type: 'provider',
        providerModule: 'data:text/javascript,export const x = 1',
      } as VerifierConfig,
      { load },
    ),
    { message: /^config\.providerModule must export/ },
  )
})

t.test('configuration mistakes name the field', async (t) => {
  const load = fakeLoader([])
  const bad: Array<[unknown, RegExp]> = [
    [null, /^config must be an object/],
    [[], /^config must be an object/],
    [{}, /^config\.type must be one of jwt, introspection, provider, composite \(got undefined\)/],
    [{ type: 'saml' }, /^config\.type must be one of .* \(got "saml"\)/],
    [{ type: 'toString' }, /^config\.type /],
    [{ type: 'jwt', cache: 5 }, /^config\.cache /],
    [{ type: 'jwt', cache: null }, /^config\.cache /],
  ]
  for (const [config, message] of bad) {
    await t.rejects(createVerifier(config as VerifierConfig, { load }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message,
    })
  }
})

t.test('a missing package says which one to install', async (t) => {
  const missing = async (): Promise<never> => {
    throw Object.assign(new Error('Cannot find package'), { code: 'ERR_MODULE_NOT_FOUND' })
  }
  await t.rejects(createVerifier({ type: 'introspection' } as VerifierConfig, { load: missing }), {
    code: 'ERR_MODULE_NOT_FOUND',
    message: /npm install @bearerkit\/introspection/,
  })
  const broken = async (): Promise<never> => {
    throw new SyntaxError('broken package')
  }
  await t.rejects(createVerifier({ type: 'jwt' } as VerifierConfig, { load: broken }), {
    message: 'broken package',
  })
  await t.rejects(createVerifier({ type: 'jwt' } as VerifierConfig, { load: async () => ({}) }), {
    message: /has no createJwtVerifier/,
  })
  await t.rejects(createVerifier({ type: 'jwt' } as VerifierConfig, { load: async () => null }), {
    message: /has no createJwtVerifier/,
  })
})

t.test('verifierConfigFromEnv maps variables to options', async (t) => {
  t.equal(verifierConfigFromEnv({}), null)
  t.same(
    verifierConfigFromEnv({
      BEARERKIT_VERIFIER: 'jwt',
      BEARERKIT_ISSUER: 'https://as',
      BEARERKIT_AUDIENCE: 'https://rs',
      BEARERKIT_JWKS_URI: 'https://as/jwks',
      BEARERKIT_ALGORITHMS: 'RS256, ES256',
      BEARERKIT_TOKEN_TYPES: 'at+jwt,JWT',
      BEARERKIT_CLOCK_TOLERANCE: '30',
      BEARERKIT_MAX_TOKEN_AGE: '3600',
      BEARERKIT_REQUIRED_SCOPES: 'a b,c',
      BEARERKIT_TIMEOUT: '2000',
      BEARERKIT_CACHE_TTL: '60',
      BEARERKIT_CACHE_MAX: '100',
      BEARERKIT_CACHE_NEGATIVE_TTL: '1',
      BEARERKIT_UNRELATED: 'x',
    }),
    {
      type: 'jwt',
      issuer: 'https://as',
      audience: 'https://rs',
      jwksUri: 'https://as/jwks',
      algorithms: ['RS256', 'ES256'],
      tokenTypes: ['at+jwt', 'JWT'],
      clockTolerance: 30,
      maxTokenAge: 3600,
      requiredScopes: ['a', 'b', 'c'],
      jwks: { timeout: 2000 },
      cache: { max: 100, ttl: 60, negativeTtl: 1 },
    },
  )
  t.same(
    verifierConfigFromEnv(
      {
        APP_VERIFIER: 'introspection',
        APP_INTROSPECTION_URL: 'https://as/introspect',
        APP_CLIENT_ID: 'rs',
        APP_CLIENT_SECRET: 's3cret',
        APP_CLIENT_AUTH_METHOD: 'client_secret_post',
        APP_AUDIENCE: 'a,b',
        APP_CACHE: 'off',
      },
      'APP_',
    ),
    {
      type: 'introspection',
      introspectionUrl: 'https://as/introspect',
      clientId: 'rs',
      clientSecret: 's3cret',
      clientAuthMethod: 'client_secret_post',
      audience: ['a', 'b'],
      cache: false,
    },
  )
  const minimal = { BEARERKIT_ISSUER: 'https://as', BEARERKIT_AUDIENCE: 'https://rs' }
  t.same(verifierConfigFromEnv({ BEARERKIT_VERIFIER: 'jwt', BEARERKIT_CACHE: 'on', ...minimal }), {
    type: 'jwt',
    issuer: 'https://as',
    audience: 'https://rs',
    cache: {},
  })
  t.same(
    verifierConfigFromEnv({
      BEARERKIT_VERIFIER: 'provider',
      BEARERKIT_PROVIDER_MODULE: './p.js',
      BEARERKIT_AUDIENCE: 'https://rs',
    }),
    { type: 'provider', audience: 'https://rs', providerModule: './p.js' },
  )
  t.same(
    verifierConfigFromEnv({
      BEARERKIT_VERIFIER: 'introspection',
      BEARERKIT_ISSUER: 'https://as',
      BEARERKIT_AUDIENCE: 'https://rs',
      BEARERKIT_TIMEOUT: '1500',
    }),
    { type: 'introspection', issuer: 'https://as', audience: 'https://rs', timeout: 1500 },
    'introspection keeps timeout as its own option',
  )
})

t.test('keys from the environment: PEM with escaped newlines or JSON', async (t) => {
  const pem = verifierConfigFromEnv({
    BEARERKIT_VERIFIER: 'jwt',
    BEARERKIT_ISSUER: 'https://as',
    BEARERKIT_AUDIENCE: 'https://rs',
    BEARERKIT_KEY: '-----BEGIN PUBLIC KEY-----\\nABC\\n-----END PUBLIC KEY-----',
  })
  t.equal(
    (pem as Record<string, unknown> | null)?.key,
    '-----BEGIN PUBLIC KEY-----\nABC\n-----END PUBLIC KEY-----',
  )
  const jwk = verifierConfigFromEnv({
    BEARERKIT_VERIFIER: 'jwt',
    BEARERKIT_ISSUER: 'https://as',
    BEARERKIT_AUDIENCE: 'https://rs',
    BEARERKIT_KEY: '{"kty":"OKP"}',
  })
  t.same((jwk as Record<string, unknown> | null)?.key, { kty: 'OKP' })
  t.throws(
    () =>
      verifierConfigFromEnv({
        BEARERKIT_VERIFIER: 'jwt',
        BEARERKIT_ISSUER: 'https://as',
        BEARERKIT_AUDIENCE: 'https://rs',
        BEARERKIT_KEY: '{bad',
      }),
    { message: /^BEARERKIT_KEY is not valid JSON/ },
  )
})

t.test(
  'Public key text becomes an HMAC secret: a shared secret comes only from SECRET',
  async (t) => {
    const base = {
      BEARERKIT_VERIFIER: 'jwt',
      BEARERKIT_ISSUER: 'https://as',
      BEARERKIT_AUDIENCE: 'a',
    }
    const config = verifierConfigFromEnv({ ...base, BEARERKIT_SECRET: 'a-long-shared-secret' })
    t.equal((config as Record<string, unknown> | null)?.secret, 'a-long-shared-secret')
    t.equal(
      (config as Record<string, unknown> | null)?.key,
      undefined,
      'the secret never lands in key',
    )
    t.throws(
      () =>
        verifierConfigFromEnv({
          ...base,
          BEARERKIT_VERIFIER: 'introspection',
          BEARERKIT_SECRET: 's',
        }),
      { message: /^BEARERKIT_SECRET is not used when VERIFIER is introspection/ },
    )
  },
)

t.test('environment mistakes name the variable', async (t) => {
  const jwt = { BEARERKIT_VERIFIER: 'jwt', BEARERKIT_ISSUER: 'https://as', BEARERKIT_AUDIENCE: 'a' }
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ BEARERKIT_VERIFIER: 'saml' }, /^BEARERKIT_VERIFIER /],
    [{ ...jwt, BEARERKIT_TIMEOUT: 'soon' }, /^BEARERKIT_TIMEOUT must be a number/],
    [{ ...jwt, BEARERKIT_CACHE_TTL: '1e999' }, /^BEARERKIT_CACHE_TTL /],
    [{ ...jwt, BEARERKIT_CACHE: 'maybe' }, /^BEARERKIT_CACHE must be on or off/],
    [
      { BEARERKIT_VERIFIER: 'provider', BEARERKIT_AUDIENCE: 'a' },
      /^BEARERKIT_PROVIDER_MODULE is required/,
    ],
  ]
  for (const [env, message] of bad) {
    t.throws(() => verifierConfigFromEnv(env), { code: 'ERR_INVALID_ARG_VALUE', message })
  }
})

t.test('verifierConfigFromEnv: a missing required value names the variable', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [
      { BEARERKIT_VERIFIER: 'jwt', BEARERKIT_ISSUER: 'https://as' },
      /^BEARERKIT_AUDIENCE is required/,
    ],
    [{ BEARERKIT_VERIFIER: 'jwt', BEARERKIT_AUDIENCE: 'a' }, /^BEARERKIT_ISSUER is required/],
    [{ BEARERKIT_VERIFIER: 'introspection' }, /^BEARERKIT_AUDIENCE is required/],
    [
      { BEARERKIT_VERIFIER: 'introspection', BEARERKIT_AUDIENCE: 'a' },
      /^BEARERKIT_ISSUER is required when VERIFIER is introspection without INTROSPECTION_URL/,
    ],
    [
      { BEARERKIT_VERIFIER: 'provider', BEARERKIT_PROVIDER_MODULE: './p.js' },
      /^BEARERKIT_AUDIENCE is required/,
    ],
    [{ APP_VERIFIER: 'jwt' }, /^APP_AUDIENCE is required/],
  ]
  for (const [env, message] of cases) {
    const prefix = Object.keys(env)[0]?.startsWith('APP_') ? 'APP_' : 'BEARERKIT_'
    t.throws(() => verifierConfigFromEnv(env, prefix), { code: 'ERR_INVALID_ARG_VALUE', message })
  }
  const introspection = verifierConfigFromEnv({
    BEARERKIT_VERIFIER: 'introspection',
    BEARERKIT_AUDIENCE: 'a',
    BEARERKIT_INTROSPECTION_URL: 'https://as/introspect',
  })
  t.equal(
    (introspection as Record<string, unknown> | null)?.introspectionUrl,
    'https://as/introspect',
    'URL without issuer is enough',
  )
})

t.test('verifierConfigFromEnv: empty variables are refused, not taken as unset', async (t) => {
  const jwt = { BEARERKIT_VERIFIER: 'jwt', BEARERKIT_ISSUER: 'https://as', BEARERKIT_AUDIENCE: 'a' }
  for (const [name, value] of [
    ['BEARERKIT_REQUIRED_SCOPES', ''],
    ['BEARERKIT_REQUIRED_SCOPES', '   '],
    ['BEARERKIT_AUDIENCE', ''],
    ['BEARERKIT_MAX_TOKEN_AGE', ' '],
    ['BEARERKIT_CACHE', ''],
    ['BEARERKIT_VERIFIER', ''],
    ['BEARERKIT_VERIFIER', '\t'],
  ] as const) {
    t.throws(() => verifierConfigFromEnv({ ...jwt, [name]: value }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: new RegExp(`^${name} is set but empty`),
    })
  }
  t.equal(verifierConfigFromEnv({ OTHER: '' }), null, 'unset VERIFIER is still null')
})

t.test('verifierConfigFromEnv: a variable the verifier type does not use is refused', async (t) => {
  const jwt = { BEARERKIT_VERIFIER: 'jwt', BEARERKIT_ISSUER: 'https://as', BEARERKIT_AUDIENCE: 'a' }
  t.throws(() => verifierConfigFromEnv({ ...jwt, BEARERKIT_CLIENT_SECRET: 's' }), {
    message: /^BEARERKIT_CLIENT_SECRET is not used when VERIFIER is jwt/,
  })
  t.throws(() => verifierConfigFromEnv({ ...jwt, BEARERKIT_PROVIDER_MODULE: './p.js' }), {
    message: /^BEARERKIT_PROVIDER_MODULE is not used when VERIFIER is jwt/,
  })
  t.throws(
    () =>
      verifierConfigFromEnv({
        BEARERKIT_VERIFIER: 'provider',
        BEARERKIT_PROVIDER_MODULE: './p.js',
        BEARERKIT_AUDIENCE: 'a',
        BEARERKIT_TIMEOUT: '100',
      }),
    { message: /^BEARERKIT_TIMEOUT is not used when VERIFIER is provider/ },
  )
})

t.test('BEARERKIT_TIMEOUT reaches the jwt verifier as jwks.timeout', async (t) => {
  const recorded: Recorded[] = []
  const config = verifierConfigFromEnv({
    BEARERKIT_VERIFIER: 'jwt',
    BEARERKIT_ISSUER: 'https://as',
    BEARERKIT_AUDIENCE: 'a',
    BEARERKIT_TIMEOUT: '250',
  }) as VerifierConfig
  await createVerifier(config, { load: fakeLoader(recorded) })
  t.same(recorded[0]?.args, [{ issuer: 'https://as', audience: 'a', jwks: { timeout: 250 } }])
})

t.test('Unknown options refused everywhere: createVerifier checks its own keys', async (t) => {
  const recorded: Recorded[] = []
  const load = fakeLoader(recorded)
  const base = { issuer: 'https://as', audience: 'a' }
  const cases: Array<[unknown, RegExp]> = [
    [{ type: 'jwt', ...base, cahce: { ttl: 5 } }, /^config\.cahce .*did you mean `cache`/],
    [{ type: 'jwt', typ: 'x', ...base }, /^config\.typ .*did you mean `type`/],
    [{ type: 'jwt', ...base, cache: { tll: 5 } }, /^config\.cache\.tll .*did you mean `ttl`/],
    [
      { type: 'jwt', ...base, provider: {} },
      /^config\.provider is only used when type is provider/,
    ],
    [
      { type: 'introspection', ...base, providerModule: './p.js' },
      /^config\.providerModule is only/,
    ],
    [{ type: 'provider', providers: {} }, /^config\.providers .*did you mean `provider`/],
    [Promise.resolve({ type: 'jwt' }), /^config is a Promise/],
    [undefined, /^config must be an object/],
  ]
  for (const [config, message] of cases) {
    await t.rejects(createVerifier(config as VerifierConfig, { load }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message,
    })
  }
  t.equal(recorded.length, 0, 'no package factory was called')
})

t.test('createVerifier passes unknown keys through, so the package refuses them', async (t) => {
  // A package factory as strict as the real ones: createVerifier must not swallow or rename.
  const { rejectUnknownOptions } = await import('../src/index.js')
  const strict = async () => ({
    createJwtVerifier: (options: Record<string, unknown>) => {
      rejectUnknownOptions('options', options, ['issuer', 'audience', 'requiredScopes', 'jwks'])
      return { verifyToken: async () => null }
    },
  })
  await t.rejects(
    createVerifier(
      { type: 'jwt', issuer: 'https://as', audience: 'a', requiredScope: ['admin'] },
      { load: strict },
    ),
    { code: 'ERR_INVALID_ARG_VALUE', message: /requiredScope .*did you mean `requiredScopes`/ },
  )
})
