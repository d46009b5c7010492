import t from 'tap'
import {
  AuthorizeError,
  constructRedirectUri,
  createMemoryProvider,
  handleAuthorizationRequest,
  handleTokenRequest,
  type AuthorizationParams,
  type AuthorizationRequest,
  type AuthorizationRequestOptions,
  type OAuthClientInformation,
} from '../src/index.js'
import { REDIRECT, RESOURCE, confidentialClient, pkce, publicClient } from './fixtures/flow.js'

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

// The operator vouches for this client's redirect URIs: errors may be redirected.
const TRUSTED: AuthorizationRequestOptions = { trustRedirectUris: () => true }

async function redirected(
  request: AuthorizationRequest,
  provider?: unknown,
  options: AuthorizationRequestOptions = TRUSTED,
) {
  const p = (provider ?? (await setup())) as Parameters<typeof handleAuthorizationRequest>[0]
  const url = new URL(await handleAuthorizationRequest(p, request, options))
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

t.test(
  'errors after it are redirected with error and state (RFC 6749 §4.1.2.1) for a trusted client',
  async (t) => {
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
  },
)

t.test(
  "the provider's AuthorizeError is redirected (trusted client); other errors are passed on",
  async (t) => {
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
    await t.rejects(handleAuthorizationRequest(failing, valid, TRUSTED), boom)
    await t.rejects(handleAuthorizationRequest(failing, valid), boom)
  },
)

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

// Settles a request into what the user agent would see: a redirect, or an error rendered here.
async function outcomeOf(
  provider: Parameters<typeof handleAuthorizationRequest>[0],
  request: AuthorizationRequest,
  options?: AuthorizationRequestOptions,
): Promise<string> {
  try {
    const url = new URL(await handleAuthorizationRequest(provider, request, options))
    return `redirect ${url.origin}${url.pathname} error=${url.searchParams.get('error')}`
  } catch (error) {
    const e = error as AuthorizeError
    return `render ${e.code} ${e.error}`
  }
}

t.test('the authorization endpoint is an open redirector (finding 1)', async (t) => {
  // An attacker registers a phishing page as its redirect URI by dynamic registration...
  const phish = 'https://evil.example/phish'
  const provider = createMemoryProvider({ scopes: ['read', 'write'], approve: () => null })
  await provider.registerClient(publicClient({ client_id: 'attacker', redirect_uris: [phish] }))
  const lure: AuthorizationRequest = {
    response_type: 'code',
    client_id: 'attacker',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }
  // ...and sends victims links that fail before anyone authenticated: none goes to evil.example.
  const cases: Array<[string, AuthorizationRequest, string]> = [
    ['bogus response_type', { ...lure, response_type: 'bogus' }, 'unsupported_response_type'],
    ['no PKCE', { ...lure, code_challenge: undefined }, 'invalid_request'],
    ['plain PKCE', { ...lure, code_challenge_method: 'plain' }, 'invalid_request'],
    ['unknown scope', { ...lure, scope: 'admin' }, 'invalid_scope'],
    ['malformed resource', { ...lure, resource: 'x' }, 'invalid_target'],
    ['denied consent', lure, 'access_denied'],
  ]
  for (const [name, request, error] of cases) {
    t.equal(await outcomeOf(provider, request), `render ERR_OAUTH_AUTHORIZE ${error}`, name)
  }
  // A trust decision that throws, or answers something truthy but not `true`, trusts nobody.
  const odd = [
    () => {
      throw new Error('db down')
    },
    () => 1 as unknown as boolean,
    () => Promise.resolve(true) as unknown as boolean,
  ]
  for (const trustRedirectUris of odd) {
    t.equal(
      await outcomeOf(provider, { ...lure, response_type: 'bogus' }, { trustRedirectUris }),
      'render ERR_OAUTH_AUTHORIZE unsupported_response_type',
    )
  }
  // The operator's own clients may be trusted: their errors are redirected (RFC 6749 §4.1.2.1).
  const seen: string[] = []
  const trustRedirectUris = (client: OAuthClientInformation): boolean => {
    seen.push(client.client_id)
    return client.client_id !== 'attacker'
  }
  await provider.registerClient(confidentialClient())
  t.equal(
    await outcomeOf(provider, { ...valid, response_type: 'bogus' }, { trustRedirectUris }),
    `redirect ${REDIRECT} error=unsupported_response_type`,
  )
  t.equal(
    await outcomeOf(provider, { ...lure, response_type: 'bogus' }, { trustRedirectUris }),
    'render ERR_OAUTH_AUTHORIZE unsupported_response_type',
  )
  t.same(seen, ['client-a', 'attacker'])
  // A successful request still redirects with the code, trusted or not.
  const approving = await setup()
  t.match(await outcomeOf(approving, valid), `redirect ${REDIRECT} error=null`)
})

t.test('options of handleAuthorizationRequest are checked up front', async (t) => {
  const provider = await setup()
  const cases: Array<[unknown, RegExp]> = [
    [null, /^options must be an object/],
    [Promise.resolve({}), /did you forget `await`/],
    [{ issuer: '' }, /^options\.issuer must be a non-empty string/],
    [{ trustRedirectUris: true }, /^options\.trustRedirectUris must be a function/],
    [{ trustRedirectUri: () => true }, /did you mean `trustRedirectUris`/],
    [{ iss: 'https://as.example.com' }, /options\.iss is not a known option/],
  ]
  for (const [options, message] of cases) {
    await t.rejects(
      handleAuthorizationRequest(provider, valid, options as AuthorizationRequestOptions),
      { code: 'ERR_INVALID_ARG_VALUE', message },
    )
  }
})

t.test('no iss in authorization responses (finding 2)', async (t) => {
  const ISSUER = 'https://as.example.com'
  const provider = createMemoryProvider({ issuer: ISSUER })
  await provider.registerClient(confidentialClient())
  // Success: MemoryProvider adds iss itself.
  const success = new URL(await handleAuthorizationRequest(provider, valid))
  t.equal(success.searchParams.get('iss'), ISSUER)
  t.ok(success.searchParams.get('code'))
  // Errors, redirected for a trusted client, carry it too.
  const options = { issuer: ISSUER, trustRedirectUris: () => true }
  const error = new URL(
    await handleAuthorizationRequest(provider, { ...valid, response_type: 'bogus' }, options),
  )
  t.equal(error.searchParams.get('iss'), ISSUER)
  t.equal(error.searchParams.get('error'), 'unsupported_response_type')
  const denied = createMemoryProvider({ issuer: ISSUER, approve: () => null })
  await denied.registerClient(confidentialClient())
  const refusal = new URL(await handleAuthorizationRequest(denied, valid, options))
  t.same(
    [refusal.searchParams.get('error'), refusal.searchParams.get('iss')],
    ['access_denied', ISSUER],
  )
  // A provider of its own that forgets iss gets it added, when its answer goes back to the
  // client; an answer to a login page, or one that already has iss, is left alone.
  const answering = (location: string) => ({
    getClient: async () => confidentialClient(),
    authorize: async () => location,
  })
  const own = await handleAuthorizationRequest(answering(`${REDIRECT}?code=abc&state=xyz`), valid, {
    issuer: ISSUER,
  })
  t.equal(own, `${REDIRECT}?code=abc&state=xyz&iss=${encodeURIComponent(ISSUER)}`)
  const ownError = new URL(
    await handleAuthorizationRequest(answering(`${REDIRECT}?error=access_denied`), valid, {
      issuer: ISSUER,
    }),
  )
  t.equal(ownError.searchParams.get('iss'), ISSUER)
  for (const location of [
    'https://login.example.com/consent?code=1',
    `${REDIRECT}?pending=1`,
    `${REDIRECT}?code=abc&iss=${encodeURIComponent(ISSUER)}`,
    'not a url',
  ]) {
    t.equal(
      await handleAuthorizationRequest(answering(location), valid, { issuer: ISSUER }),
      location,
    )
  }
  // Without an issuer nothing is added.
  t.equal(
    await handleAuthorizationRequest(answering(`${REDIRECT}?code=abc`), valid),
    `${REDIRECT}?code=abc`,
  )
})

t.test('loopback redirect URIs: any port on 127.0.0.1 and [::1] (RFC 8252 §7.3)', async (t) => {
  const provider = createMemoryProvider()
  await provider.registerClient(
    publicClient({ redirect_uris: ['http://127.0.0.1/cb', 'http://[::1]:8080/cb?app=1'] }),
  )
  const ask = (redirect_uri: string) =>
    outcomeOf(
      provider,
      { ...valid, client_id: 'public-b', redirect_uri, response_type: 'x' },
      TRUSTED,
    )
  t.equal(
    await ask('http://127.0.0.1:51234/cb'),
    'redirect http://127.0.0.1:51234/cb error=unsupported_response_type',
  )
  t.equal(
    await ask('http://127.0.0.1/cb'),
    'redirect http://127.0.0.1/cb error=unsupported_response_type',
  )
  t.equal(
    await ask('http://[::1]:1/cb?app=1'),
    'redirect http://[::1]:1/cb error=unsupported_response_type',
  )
  t.equal(
    await ask('http://[::1]/cb?app=1'),
    'redirect http://[::1]/cb error=unsupported_response_type',
  )
  // Only the port may differ, and only in the parser's canonical form.
  for (const uri of [
    'http://127.0.0.1:51234/cb/',
    'http://127.0.0.1:51234/other',
    'http://127.0.0.1:51234/cb?x=1',
    'http://[::1]:8080/cb',
    'http://localhost:51234/cb',
    'http://127.0.0.2:51234/cb',
    'https://127.0.0.1:51234/cb',
    'http://user@127.0.0.1:51234/cb',
    'http://127.0.0.1:51234\\@evil.example/cb',
    'http://127.0.0.1:080/cb',
    'http://127.0.0.1:51234/cb#x',
    'http://[::1',
  ]) {
    t.equal(await ask(uri), 'render ERR_OAUTH_AUTHORIZE invalid_request', uri)
  }
  // The code is bound to the URI with its port: the token request must repeat it exactly.
  const { verifier, challenge: c } = pkce()
  const location = new URL(
    await handleAuthorizationRequest(provider, {
      ...valid,
      client_id: 'public-b',
      code_challenge: c,
      redirect_uri: 'http://127.0.0.1:40000/cb',
    }),
  )
  const code = location.searchParams.get('code') as string
  t.equal(location.port, '40000')
  const client = (await provider.getClient('public-b')) as OAuthClientInformation
  const request = { grant_type: 'authorization_code', code, code_verifier: verifier }
  const otherPort = await handleTokenRequest(provider, client, {
    ...request,
    redirect_uri: 'http://127.0.0.1:40001/cb',
  }).catch((e: unknown) => (e as AuthorizeError).error)
  t.equal(otherPort, 'invalid_grant')
  const token = await handleTokenRequest(provider, client, {
    ...request,
    redirect_uri: 'http://127.0.0.1:40000/cb',
  })
  t.equal(token.token_type, 'Bearer')
})

t.test('loopback port matching skips stored redirect URIs that are not URLs', async (t) => {
  // A provider of one's own whose stored record holds junk next to a loopback URI.
  const odd = {
    getClient: async () =>
      publicClient({
        redirect_uris: [
          'not a url',
          5,
          'https://app.example.com/cb',
          'http://127.0.0.1/cb',
        ] as string[],
      }),
    authorize: async (_client: OAuthClientInformation, params: AuthorizationParams) =>
      params.redirectUri,
  }
  t.equal(
    await handleAuthorizationRequest(odd, {
      ...valid,
      client_id: 'public-b',
      redirect_uri: 'http://127.0.0.1:9/cb',
    }),
    'http://127.0.0.1:9/cb',
  )
})
