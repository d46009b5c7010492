import t from 'tap'
import {
  AuthorizeError,
  constructRedirectUri,
  createMemoryProvider,
  handleAuthorizationRequest,
  type AuthorizationParams,
  type AuthorizationRequest,
  type OAuthClientInformation,
} from '../src/index.js'
import { REDIRECT, RESOURCE, confidentialClient, pkce } from './fixtures/flow.js'

async function setup(client: OAuthClientInformation = confidentialClient()) {
  const provider = createMemoryProvider()
  await provider.registerClient(client)
  return provider
}

const { challenge } = pkce()
const valid: AuthorizationRequest = {
  response_type: 'code',
  client_id: 'client-a',
  code_challenge: challenge,
  code_challenge_method: 'S256',
  state: 'xyz',
}

async function redirected(request: AuthorizationRequest, provider?: unknown) {
  const p = (provider ?? (await setup())) as Parameters<typeof handleAuthorizationRequest>[0]
  const url = new URL(await handleAuthorizationRequest(p, request))
  return {
    base: url.origin + url.pathname,
    error: url.searchParams.get('error'),
    description: url.searchParams.get('error_description'),
    state: url.searchParams.get('state'),
    code: url.searchParams.get('code'),
  }
}

t.test('a valid request reaches authorize with the validated parameters', async (t) => {
  const seen: AuthorizationParams[] = []
  const provider = await setup()
  const spy = {
    getClient: (id: string) => provider.getClient(id),
    authorize: async (_client: OAuthClientInformation, params: AuthorizationParams) => {
      seen.push(params)
      return 'https://login.example.com/consent?id=1'
    },
  }
  t.equal(
    await handleAuthorizationRequest(spy, { ...valid, scope: 'read read', resource: RESOURCE }),
    'https://login.example.com/consent?id=1',
  )
  t.same(seen, [
    {
      codeChallenge: challenge,
      redirectUri: REDIRECT,
      redirectUriProvidedExplicitly: false,
      state: 'xyz',
      scopes: ['read'],
      resource: RESOURCE,
    },
  ])
  await handleAuthorizationRequest(spy, { ...valid, state: undefined, redirect_uri: REDIRECT })
  t.same(seen[1], {
    codeChallenge: challenge,
    redirectUri: REDIRECT,
    redirectUriProvidedExplicitly: true,
  })
})

t.test('errors before the redirect URI is trusted are thrown, never redirected', async (t) => {
  const two = confidentialClient({
    client_id: 'two',
    redirect_uris: [REDIRECT, 'https://app.example.com/other'],
  })
  const provider = await setup()
  await provider.registerClient(two)
  const cases: Array<[AuthorizationRequest, RegExp]> = [
    [{ ...valid, client_id: undefined }, /client_id is required/],
    [{ ...valid, client_id: '' }, /client_id is required/],
    [{ ...valid, client_id: 'nobody' }, /not registered/],
    [{ ...valid, redirect_uri: 'https://evil.example.com/callback' }, /not registered/],
    [{ ...valid, redirect_uri: `${REDIRECT}/` }, /not registered/],
    [{ ...valid, redirect_uri: `${REDIRECT}?x=1` }, /not registered/],
    [{ ...valid, client_id: 'two' }, /redirect_uri is required/],
  ]
  for (const [request, message] of cases) {
    const error = await handleAuthorizationRequest(provider, request).then(
      () => undefined,
      (e: unknown) => e as AuthorizeError,
    )
    t.equal(error?.code, 'ERR_OAUTH_AUTHORIZE')
    t.equal(error?.error, 'invalid_request')
    t.match(error?.errorDescription, message)
  }
  // A client whose stored record has no redirect URIs at all.
  const broken = {
    getClient: async () => ({ client_id: 'client-a' }) as OAuthClientInformation,
    authorize: async () => 'x',
  }
  await t.rejects(handleAuthorizationRequest(broken, valid), {
    code: 'ERR_OAUTH_AUTHORIZE',
    error: 'invalid_request',
  })
  // A provider answering a different client than asked for.
  const confused = {
    getClient: async () => confidentialClient({ client_id: 'zzz' }),
    authorize: async () => 'x',
  }
  await t.rejects(handleAuthorizationRequest(confused, valid), {
    code: 'ERR_OAUTH_AUTHORIZE',
    error: 'invalid_request',
  })
  await t.rejects(handleAuthorizationRequest(provider, null as never), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
})

t.test('errors after it are redirected with error and state (RFC 6749 §4.1.2.1)', async (t) => {
  const cases: Array<[AuthorizationRequest, string, string]> = [
    [
      { ...valid, response_type: 'token' },
      'unsupported_response_type',
      'response_type must be code',
    ],
    [
      { ...valid, response_type: undefined },
      'unsupported_response_type',
      'response_type must be code',
    ],
    [{ ...valid, code_challenge: undefined }, 'invalid_request', 'code_challenge is required'],
    [
      { ...valid, code_challenge_method: undefined },
      'invalid_request',
      'code_challenge_method must be S256',
    ],
    [
      { ...valid, code_challenge_method: 'plain' },
      'invalid_request',
      'code_challenge_method must be S256',
    ],
    [
      { ...valid, code_challenge_method: 's256' },
      'invalid_request',
      'code_challenge_method must be S256',
    ],
    [{ ...valid, code_challenge: 'short' }, 'invalid_request', 'code_challenge is malformed'],
    [
      { ...valid, code_challenge: `${challenge}=` },
      'invalid_request',
      'code_challenge is malformed',
    ],
    [{ ...valid, scope: 'read  write' }, 'invalid_scope', 'scope is malformed'],
    [{ ...valid, scope: 'read "x"' }, 'invalid_scope', 'scope is malformed'],
    [
      { ...valid, scope: 'read admin' },
      'invalid_scope',
      'scope exceeds what the client registered',
    ],
    [
      { ...valid, resource: 'mcp' },
      'invalid_target',
      'resource must be an absolute URI without a fragment',
    ],
    [
      { ...valid, resource: `${RESOURCE}#frag` },
      'invalid_target',
      'resource must be an absolute URI without a fragment',
    ],
    [
      { ...valid, resource: 'http://[::1' },
      'invalid_target',
      'resource must be an absolute URI without a fragment',
    ],
  ]
  for (const [request, error, description] of cases) {
    const result = await redirected(request)
    t.same(result, { base: REDIRECT, error, description, state: 'xyz', code: null }, error)
  }
  const noState = await redirected({ ...valid, state: undefined, response_type: 'x' })
  t.equal(noState.state, null)
})

t.test("the provider's AuthorizeError is redirected; other errors are passed on", async (t) => {
  const denied = createMemoryProvider({ approve: () => null })
  await denied.registerClient(confidentialClient())
  t.same(await redirected(valid, denied), {
    base: REDIRECT,
    error: 'access_denied',
    description: 'The request was not approved',
    state: 'xyz',
    code: null,
  })
  const bare = {
    getClient: async () => confidentialClient(),
    authorize: async () => {
      throw new AuthorizeError('temporarily_unavailable')
    },
  }
  t.same(await redirected(valid, bare), {
    base: REDIRECT,
    error: 'temporarily_unavailable',
    description: null,
    state: 'xyz',
    code: null,
  })
  const boom = new Error('db down')
  const failing = {
    getClient: async () => confidentialClient(),
    authorize: () => Promise.reject(boom),
  }
  await t.rejects(handleAuthorizationRequest(failing, valid), boom)
})

t.test('a client registered without scope may ask for any scope', async (t) => {
  const provider = await setup(confidentialClient({ scope: undefined }))
  const result = await redirected({ ...valid, scope: 'anything' }, provider)
  t.equal(result.error, null)
  t.match(result.code, /^[A-Za-z0-9_-]{43}$/)
})

t.test('constructRedirectUri keeps the existing query and skips undefined', async (t) => {
  t.equal(
    constructRedirectUri('https://app.example/cb?x=1', { code: 'a b&c', state: undefined }),
    'https://app.example/cb?x=1&code=a+b%26c',
  )
  t.equal(
    constructRedirectUri('com.example.app:/cb', { code: 'c', state: 's' }),
    'com.example.app:/cb?code=c&state=s',
  )
})
