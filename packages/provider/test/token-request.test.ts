import t from 'tap'
import type { TokenError } from '../src/index.js'
import {
  JWT_BEARER_GRANT_TYPE,
  authenticateClient,
  createMemoryProvider,
  handleTokenRequest,
  type ClientCredentials,
  type TokenRequest,
} from '../src/index.js'
import {
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
