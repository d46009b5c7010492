import t from 'tap'
import type {
  AuthorizationCode,
  OAuthAuthorizationServerProvider,
  OAuthClientInformation,
  RefreshToken,
  TokenError,
} from '../src/index.js'
import {
  JWT_BEARER_GRANT_TYPE,
  authenticateClient,
  createMemoryProvider,
  handleTokenRequest,
  unsupportedIdentityAssertion,
  type ClientCredentials,
  type TokenRequest,
} from '../src/index.js'
import {
  REDIRECT,
  START,
  authorize,
  confidentialClient,
  manualClock,
  pkce,
  publicClient,
} from './fixtures/flow.js'

async function setup() {
  const clock = manualClock()
  const provider = createMemoryProvider({ now: clock.now })
  const client = confidentialClient()
  await provider.registerClient(client)
  await provider.registerClient(publicClient())
  return { clock, provider, client }
}

const failure = (promise: Promise<unknown>): Promise<TokenError | undefined> =>
  promise.then(
    () => undefined,
    (e: unknown) => e as TokenError,
  )

t.test('authenticateClient', async (t) => {
  const { provider, clock } = await setup()
  const ok = await authenticateClient(provider, {
    clientId: 'client-a',
    clientSecret: 'secret-a-0123456789',
    method: 'client_secret_basic',
  })
  t.equal(ok.client_id, 'client-a')
  t.equal(
    (await authenticateClient(provider, { clientId: 'public-b', method: 'none' })).client_id,
    'public-b',
  )
  const basic = 'client_secret_basic' as const
  const cases: Array<[string, ClientCredentials]> = [
    ['unknown client', { clientId: 'nobody', clientSecret: 'x', method: basic }],
    ['empty client id', { clientId: '', clientSecret: 'x', method: basic }],
    ['non-string client id', { clientId: 5 as never, method: 'none' }],
    ['wrong secret', { clientId: 'client-a', clientSecret: 'secret-a-012345678', method: basic }],
    [
      'longer secret',
      { clientId: 'client-a', clientSecret: 'secret-a-0123456789x', method: basic },
    ],
    ['missing secret', { clientId: 'client-a', method: basic }],
    [
      'public client sending a secret',
      { clientId: 'public-b', clientSecret: 'anything', method: 'client_secret_post' },
    ],
    [
      'public client sending a secret as none',
      { clientId: 'public-b', clientSecret: 'anything', method: 'none' },
    ],
  ]
  for (const [name, credentials] of cases) {
    const error = await failure(authenticateClient(provider, credentials))
    t.equal(error?.error, 'invalid_client', name)
    t.equal(error?.statusCode, 401, name)
    t.equal(error?.errorDescription, 'Client authentication failed', name)
  }
  // A provider answering another client than the one asked for.
  const confused = { getClient: async () => confidentialClient({ client_id: 'zzz' }) }
  t.equal(
    (
      await failure(
        authenticateClient(confused, { clientId: 'client-a', clientSecret: 'x', method: basic }),
      )
    )?.error,
    'invalid_client',
  )
  // Secret expiry (RFC 7591 §3.2.1): 0 means never.
  const expiring = createMemoryProvider({ now: clock.now })
  await expiring.registerClient(confidentialClient({ client_secret_expires_at: START / 1000 + 10 }))
  await expiring.registerClient(
    confidentialClient({ client_id: 'forever', client_secret_expires_at: 0 }),
  )
  const credentials = {
    clientId: 'client-a',
    clientSecret: 'secret-a-0123456789',
    method: basic,
  }
  t.ok(await authenticateClient(expiring, credentials, { now: clock.now }))
  clock.advance(10)
  const expired = await failure(authenticateClient(expiring, credentials, { now: clock.now }))
  t.equal(expired?.errorDescription, 'The client secret has expired')
  t.ok(
    await authenticateClient(
      expiring,
      { clientId: 'forever', clientSecret: 'secret-a-0123456789', method: basic },
      { now: clock.now },
    ),
  )
  await t.rejects(authenticateClient(provider, credentials, { now: 1 as never }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /^options\.now/,
  })
})

t.test('token request checks, each with its RFC 6749 §5.2 code', async (t) => {
  const { provider, client, clock } = await setup()
  const { verifier, challenge } = pkce()
  const { code } = await authorize(provider, client, challenge)
  const base: TokenRequest = { grant_type: 'authorization_code', code, code_verifier: verifier }
  const cases: Array<[string, TokenRequest, string, string]> = [
    [
      'no grant_type',
      { ...base, grant_type: undefined },
      'invalid_request',
      'grant_type is required',
    ],
    ['empty grant_type', { ...base, grant_type: '' }, 'invalid_request', 'grant_type is required'],
    [
      'password grant',
      { grant_type: 'password' },
      'unsupported_grant_type',
      'The grant type is not supported',
    ],
    [
      'client_credentials',
      { grant_type: 'client_credentials' },
      'unsupported_grant_type',
      'The grant type is not supported',
    ],
    [
      'implicit',
      { grant_type: 'implicit' },
      'unsupported_grant_type',
      'The grant type is not supported',
    ],
    [
      'unregistered grant',
      { grant_type: JWT_BEARER_GRANT_TYPE, assertion: 'x' },
      'unauthorized_client',
      'The client may not use this grant type',
    ],
    ['bad scope', { ...base, scope: 'a\tb' }, 'invalid_scope', 'scope is malformed'],
    ['no code', { ...base, code: undefined }, 'invalid_request', 'code is required'],
    ['empty code', { ...base, code: '' }, 'invalid_request', 'code is required'],
    [
      'no verifier',
      { ...base, code_verifier: undefined },
      'invalid_request',
      'code_verifier is required',
    ],
    [
      'short verifier',
      { ...base, code_verifier: 'a'.repeat(42) },
      'invalid_request',
      'code_verifier is malformed',
    ],
    [
      'long verifier',
      { ...base, code_verifier: 'a'.repeat(129) },
      'invalid_request',
      'code_verifier is malformed',
    ],
    [
      'verifier with +',
      { ...base, code_verifier: `${'a'.repeat(42)}+` },
      'invalid_request',
      'code_verifier is malformed',
    ],
    [
      'the challenge as verifier',
      { ...base, code_verifier: challenge },
      'invalid_grant',
      'The code_verifier does not match the code_challenge',
    ],
    [
      'unknown code',
      { ...base, code: 'nope' },
      'invalid_grant',
      'The authorization code is invalid',
    ],
    [
      'no refresh_token',
      { grant_type: 'refresh_token' },
      'invalid_request',
      'refresh_token is required',
    ],
    [
      'unknown refresh_token',
      { grant_type: 'refresh_token', refresh_token: 'nope' },
      'invalid_grant',
      'The refresh token is invalid',
    ],
  ]
  for (const [name, request, error, description] of cases) {
    const result = await failure(handleTokenRequest(provider, client, request, { now: clock.now }))
    t.equal(result?.error, error, name)
    t.equal(result?.errorDescription, description, name)
    t.equal(result?.statusCode, 400, name)
  }
  // After all that, the code still works once.
  t.ok((await handleTokenRequest(provider, client, base, { now: clock.now })).access_token)
  await t.rejects(handleTokenRequest(provider, client, base, { now: 'x' as never }), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
})

t.test('errors other than TokenError from the provider are passed on', async (t) => {
  const { provider, client, clock } = await setup()
  const boom = new Error('db down')
  const failing = Object.assign(Object.create(provider) as typeof provider, {
    loadRefreshToken: () => Promise.reject(boom),
  })
  await t.rejects(
    handleTokenRequest(
      failing,
      client,
      { grant_type: 'refresh_token', refresh_token: 'r' },
      { now: clock.now },
    ),
    boom,
  )
})

t.test('the default clock is Date.now', async (t) => {
  const provider = createMemoryProvider()
  const client = confidentialClient()
  await provider.registerClient(client)
  const { verifier, challenge } = pkce()
  const { code } = await authorize(provider, client, challenge)
  const token = await handleTokenRequest(provider, client, {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
  })
  t.ok(token.access_token)
  t.ok(
    await authenticateClient(provider, {
      clientId: 'client-a',
      clientSecret: 'secret-a-0123456789',
      method: 'client_secret_basic',
    }),
  )
})

// A provider of one's own whose loaders answer whatever record they are given, and that counts
// the exchanges: the generic checks of handleTokenRequest must hold without the provider's help.
function looseProvider(code: AuthorizationCode, refresh: RefreshToken) {
  const exchanges: string[] = []
  const provider: OAuthAuthorizationServerProvider = {
    getClient: async () => null,
    registerClient: async () => {},
    authorize: async () => 'x',
    loadAuthorizationCode: async () => structuredClone(code),
    exchangeAuthorizationCode: async () => {
      exchanges.push('code')
      return { access_token: 'a', token_type: 'Bearer' }
    },
    loadRefreshToken: async () => structuredClone(refresh),
    exchangeRefreshToken: async () => {
      exchanges.push('refresh')
      return { access_token: 'a', token_type: 'Bearer' }
    },
    loadAccessToken: async () => null,
    revokeToken: async () => {},
    exchangeIdentityAssertion: unsupportedIdentityAssertion,
  }
  return { provider, exchanges }
}

t.test(
  "a loader answering another client's record is invalid_grant, no exchange (finding 10)",
  async (t) => {
    const { verifier, challenge } = pkce()
    const nowMs = START
    const code: AuthorizationCode = {
      code: 'c1',
      clientId: 'client-z', // another client's code
      scopes: ['read'],
      expiresAt: nowMs / 1000 + 60,
      codeChallenge: challenge,
      redirectUri: REDIRECT,
      redirectUriProvidedExplicitly: false,
    }
    const refresh: RefreshToken = { token: 'r1', clientId: 'client-z', scopes: ['read'] }
    const { provider, exchanges } = looseProvider(code, refresh)
    const client = confidentialClient()
    const now = () => nowMs
    const byCode = await failure(
      handleTokenRequest(
        provider,
        client,
        { grant_type: 'authorization_code', code: 'c1', code_verifier: verifier },
        { now },
      ),
    )
    t.equal(byCode?.error, 'invalid_grant')
    const byRefresh = await failure(
      handleTokenRequest(
        provider,
        client,
        { grant_type: 'refresh_token', refresh_token: 'r1' },
        { now },
      ),
    )
    t.equal(byRefresh?.error, 'invalid_grant')
    t.same(exchanges, [], 'neither exchange was called')
    // The same records for their own client are exchanged: the refusal above is the client check.
    const own = looseProvider(
      { ...code, clientId: 'client-a' },
      { ...refresh, clientId: 'client-a' },
    )
    await handleTokenRequest(
      own.provider,
      client,
      { grant_type: 'authorization_code', code: 'c1', code_verifier: verifier },
      { now },
    )
    await handleTokenRequest(
      own.provider,
      client,
      { grant_type: 'refresh_token', refresh_token: 'r1' },
      { now },
    )
    t.same(own.exchanges, ['code', 'refresh'])
  },
)

t.test('time boundaries: the exact second on both sides of every expiry', async (t) => {
  const { verifier, challenge } = pkce()
  const at = START / 1000
  const client = confidentialClient()
  const code = (expiresAt: number): AuthorizationCode => ({
    code: 'c1',
    clientId: 'client-a',
    scopes: [],
    expiresAt,
    codeChallenge: challenge,
    redirectUri: REDIRECT,
    redirectUriProvidedExplicitly: false,
  })
  const refresh = (expiresAt: number): RefreshToken => ({
    token: 'r1',
    clientId: 'client-a',
    scopes: [],
    expiresAt,
  })
  // RFC 6749 §4.1.2 / §6: a code or refresh token is refused from its expiry second on.
  for (const [expiresAt, expected] of [
    [at + 1, 'ok'],
    [at, 'invalid_grant'],
    [at - 1, 'invalid_grant'],
  ] as const) {
    const { provider } = looseProvider(code(expiresAt), refresh(expiresAt))
    const now = () => START
    const byCode = await handleTokenRequest(
      provider,
      client,
      { grant_type: 'authorization_code', code: 'c1', code_verifier: verifier },
      { now },
    ).then(
      () => 'ok',
      (e: TokenError) => e.error,
    )
    t.equal(byCode, expected, `code expiring at now${expiresAt - at}`)
    const byRefresh = await handleTokenRequest(
      provider,
      client,
      { grant_type: 'refresh_token', refresh_token: 'r1' },
      { now },
    ).then(
      () => 'ok',
      (e: TokenError) => e.error,
    )
    t.equal(byRefresh, expected, `refresh token expiring at now${expiresAt - at}`)
  }
  // A millisecond before the expiry second is still before it.
  const { provider: edge } = looseProvider(code(at), refresh(at))
  const justBefore = () => START - 1
  t.ok(
    await handleTokenRequest(
      edge,
      client,
      { grant_type: 'authorization_code', code: 'c1', code_verifier: verifier },
      { now: justBefore },
    ),
  )
  // RFC 7591 §3.2.1: the client secret, the same way.
  for (const [expiresAt, expected] of [
    [at + 1, 'ok'],
    [at, 'The client secret has expired'],
  ] as const) {
    const provider = {
      getClient: async () => confidentialClient({ client_secret_expires_at: expiresAt }),
    }
    const outcome = await authenticateClient(
      provider,
      { clientId: 'client-a', clientSecret: 'secret-a-0123456789', method: 'client_secret_basic' },
      { now: () => START },
    ).then(
      () => 'ok',
      (e: TokenError) => e.errorDescription,
    )
    t.equal(outcome, expected, `secret expiring at now${expiresAt - at}`)
  }
  // MemoryProvider's own records: a code of 60 s, an access token of 60 s, a refresh token of 120 s.
  const clock = manualClock()
  const memory = createMemoryProvider({
    now: clock.now,
    codeLifetime: 60,
    accessTokenLifetime: 60,
    refreshTokenLifetime: 120,
  })
  await memory.registerClient(client)
  const pair = pkce()
  const first = await authorize(memory, client, pair.challenge)
  clock.advance(59)
  const token = await handleTokenRequest(
    memory,
    client,
    { grant_type: 'authorization_code', code: first.code, code_verifier: pair.verifier },
    { now: clock.now },
  )
  const late = pkce()
  const second = await authorize(memory, client, late.challenge)
  clock.advance(60)
  t.equal(
    (
      await failure(
        handleTokenRequest(
          memory,
          client,
          { grant_type: 'authorization_code', code: second.code, code_verifier: late.verifier },
          { now: clock.now },
        ),
      )
    )?.error,
    'invalid_grant',
    'code refused at exactly codeLifetime',
  )
  // The access token issued at +59 lives until +119: alive at +118, dead at +119.
  clock.advance(-1)
  t.not(await memory.loadAccessToken(token.access_token), null, 'access token one second before')
  clock.advance(1)
  t.equal(await memory.loadAccessToken(token.access_token), null, 'access token at its exp')
  // The refresh token issued at +59 lives until +179.
  clock.advance(59)
  const refreshed = await handleTokenRequest(
    memory,
    client,
    { grant_type: 'refresh_token', refresh_token: token.refresh_token },
    { now: clock.now },
  )
  clock.advance(1)
  t.equal(
    (
      await failure(
        handleTokenRequest(
          memory,
          client,
          { grant_type: 'refresh_token', refresh_token: refreshed.refresh_token },
          { now: clock.now },
        ),
      )
    )?.error,
    'invalid_grant',
    'refresh token refused at its expiry second',
  )
})

t.test(
  'authenticateClient cannot enforce the registered token_endpoint_auth_method (finding 9)',
  async (t) => {
    const provider = createMemoryProvider()
    await provider.registerClient(confidentialClient()) // client_secret_basic
    await provider.registerClient(
      confidentialClient({ client_id: 'poster', token_endpoint_auth_method: 'client_secret_post' }),
    )
    await provider.registerClient(
      confidentialClient({ client_id: 'default', token_endpoint_auth_method: undefined }),
    )
    await provider.registerClient(publicClient())
    const secret = 'secret-a-0123456789'
    const cases: Array<[string, ClientCredentials, string]> = [
      [
        'basic client, basic',
        { clientId: 'client-a', clientSecret: secret, method: 'client_secret_basic' },
        'ok',
      ],
      [
        'basic client, post',
        { clientId: 'client-a', clientSecret: secret, method: 'client_secret_post' },
        'invalid_client',
      ],
      ['basic client, none', { clientId: 'client-a', method: 'none' }, 'invalid_client'],
      [
        'post client, post',
        { clientId: 'poster', clientSecret: secret, method: 'client_secret_post' },
        'ok',
      ],
      [
        'post client, basic',
        { clientId: 'poster', clientSecret: secret, method: 'client_secret_basic' },
        'invalid_client',
      ],
      [
        'default (basic) client, basic',
        { clientId: 'default', clientSecret: secret, method: 'client_secret_basic' },
        'ok',
      ],
      [
        'default (basic) client, post',
        { clientId: 'default', clientSecret: secret, method: 'client_secret_post' },
        'invalid_client',
      ],
      ['public client, none', { clientId: 'public-b', method: 'none' }, 'ok'],
      [
        'public client, basic without secret',
        { clientId: 'public-b', method: 'client_secret_basic' },
        'invalid_client',
      ],
    ]
    for (const [name, credentials, expected] of cases) {
      const outcome = await authenticateClient(provider, credentials).then(
        () => 'ok',
        (e: TokenError) => e.error,
      )
      t.equal(outcome, expected, name)
    }
    // A stored record naming a secret method without a secret accepts nothing.
    const broken = {
      getClient: async () =>
        ({
          client_id: 'b',
          redirect_uris: [],
          token_endpoint_auth_method: 'client_secret_post',
        }) as OAuthClientInformation,
    }
    t.equal(
      (await failure(authenticateClient(broken, { clientId: 'b', method: 'client_secret_post' })))
        ?.error,
      'invalid_client',
    )
    // A stored secret expiry that is not an integer counts as expired.
    const odd = {
      getClient: async () => confidentialClient({ client_secret_expires_at: 'yesterday' as never }),
    }
    t.equal(
      (
        await failure(
          authenticateClient(odd, {
            clientId: 'client-a',
            clientSecret: secret,
            method: 'client_secret_basic',
          }),
        )
      )?.errorDescription,
      'The client secret has expired',
    )
    // The method is required: how the request authenticated is the caller's to say.
    for (const method of [undefined, 'private_key_jwt', 'BASIC']) {
      await t.rejects(
        authenticateClient(provider, {
          clientId: 'client-a',
          clientSecret: secret,
          method,
        } as never),
        { code: 'ERR_INVALID_ARG_VALUE', message: /^credentials\.method/ },
      )
    }
  },
)

t.test('a stored client without a method or a secret is public', async (t) => {
  const bare = {
    getClient: async () => ({ client_id: 'bare', redirect_uris: [] }) as OAuthClientInformation,
  }
  t.equal((await authenticateClient(bare, { clientId: 'bare', method: 'none' })).client_id, 'bare')
  t.equal(
    (await failure(authenticateClient(bare, { clientId: 'bare', method: 'client_secret_basic' })))
      ?.error,
    'invalid_client',
  )
})
