import t from 'tap'
import type { RegistrationError } from '../src/index.js'
import { MemoryProvider, createMemoryProvider, type OAuthClientInformation } from '../src/index.js'
import { JWT_BEARER_GRANT_TYPE } from '../src/index.js'
import { confidentialClient, publicClient } from './fixtures/flow.js'

t.test('registerClient stores a copy; getClient answers copies', async (t) => {
  const provider = createMemoryProvider()
  t.ok(provider instanceof MemoryProvider)
  const info = confidentialClient({ client_name: 'App', extra_member: { nested: true } })
  await provider.registerClient(info)
  info.redirect_uris.push('https://evil.example.com/cb')
  const stored = await provider.getClient('client-a')
  t.same(stored?.redirect_uris, ['https://app.example.com/callback'])
  t.same(stored?.extra_member, { nested: true }, 'unknown members kept')
  stored?.redirect_uris.push('https://evil.example.com/cb')
  t.same((await provider.getClient('client-a'))?.redirect_uris, [
    'https://app.example.com/callback',
  ])
  t.equal(await provider.getClient('nobody'), null)
  t.equal(provider.size.clients, 1)
})

t.test('accepted redirect URIs and metadata', async (t) => {
  const provider = createMemoryProvider({ scopes: ['read', 'write'] })
  const accepted: OAuthClientInformation[] = [
    publicClient({ client_id: 'p1', redirect_uris: ['http://localhost:8080/cb'] }),
    publicClient({ client_id: 'p2', redirect_uris: ['http://127.0.0.1/cb'] }),
    publicClient({ client_id: 'p3', redirect_uris: ['http://[::1]:3000/cb'] }),
    publicClient({ client_id: 'p4', redirect_uris: ['com.example.app:/oauth2redirect'] }),
    confidentialClient({ client_id: 'c1', token_endpoint_auth_method: undefined }),
    confidentialClient({ client_id: 'c2', token_endpoint_auth_method: 'client_secret_post' }),
    confidentialClient({
      client_id: 'c3',
      grant_types: ['authorization_code', 'refresh_token', JWT_BEARER_GRANT_TYPE],
      response_types: undefined,
      scope: 'read',
    }),
  ]
  for (const info of accepted) await provider.registerClient(info)
  t.equal(provider.size.clients, accepted.length)
})

t.test('refused metadata, each with its RFC 7591 §3.2.2 code', async (t) => {
  const provider = createMemoryProvider({ scopes: ['read', 'write'] })
  await provider.registerClient(confidentialClient({ client_id: 'taken' }))
  const redirect = (uris: unknown) => publicClient({ redirect_uris: uris as string[] })
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['not an object', null, 'invalid_client_metadata', /not an object/],
    [
      'no client_id',
      { ...publicClient(), client_id: undefined },
      'invalid_client_metadata',
      /client_id/,
    ],
    ['empty client_id', publicClient({ client_id: '' }), 'invalid_client_metadata', /client_id/],
    [
      'taken client_id',
      confidentialClient({ client_id: 'taken' }),
      'invalid_client_metadata',
      /already registered/,
    ],
    [
      'no redirect_uris',
      { ...publicClient(), redirect_uris: undefined },
      'invalid_redirect_uri',
      /non-empty/,
    ],
    ['empty redirect_uris', redirect([]), 'invalid_redirect_uri', /non-empty/],
    [
      'http on a public host',
      redirect(['http://app.example.com/cb']),
      'invalid_redirect_uri',
      /https/,
    ],
    [
      'http on a host named like loopback',
      redirect(['http://127.0.0.1.evil.com/cb']),
      'invalid_redirect_uri',
      /https/,
    ],
    ['fragment', redirect(['https://app.example.com/cb#x']), 'invalid_redirect_uri', /fragment/],
    [
      'empty fragment',
      redirect(['https://app.example.com/cb#']),
      'invalid_redirect_uri',
      /fragment/,
    ],
    ['relative', redirect(['/cb']), 'invalid_redirect_uri', /https/],
    ['javascript:', redirect(['javascript:alert(1)']), 'invalid_redirect_uri', /https/],
    ['data:', redirect(['data:text/html,x']), 'invalid_redirect_uri', /https/],
    ['not a string', redirect([42]), 'invalid_redirect_uri', /https/],
    [
      'one bad among good',
      redirect(['https://ok.example/cb', 'http://bad.example/cb']),
      'invalid_redirect_uri',
      /https/,
    ],
    [
      'unknown auth method',
      confidentialClient({ token_endpoint_auth_method: 'private_key_jwt' }),
      'invalid_client_metadata',
      /token_endpoint_auth_method/,
    ],
    [
      'public client with a secret',
      publicClient({ client_secret: 's' }),
      'invalid_client_metadata',
      /has no client_secret/,
    ],
    [
      'confidential without a secret',
      confidentialClient({ client_secret: undefined }),
      'invalid_client_metadata',
      /needs a client_secret/,
    ],
    [
      'confidential with empty secret',
      confidentialClient({ client_secret: '' }),
      'invalid_client_metadata',
      /needs a client_secret/,
    ],
    [
      'implicit grant',
      publicClient({ grant_types: ['implicit'] }),
      'invalid_client_metadata',
      /grant_types/,
    ],
    [
      'grant_types not an array',
      publicClient({ grant_types: 'authorization_code' as never }),
      'invalid_client_metadata',
      /grant_types/,
    ],
    [
      'token response type',
      publicClient({ response_types: ['token'] }),
      'invalid_client_metadata',
      /response_types/,
    ],
    [
      'response_types not an array',
      publicClient({ response_types: 'code' as never }),
      'invalid_client_metadata',
      /response_types/,
    ],
    [
      'malformed scope',
      publicClient({ scope: 'read  write' }),
      'invalid_client_metadata',
      /scope is malformed/,
    ],
    [
      'scope not a string',
      publicClient({ scope: ['read'] as never }),
      'invalid_client_metadata',
      /scope is malformed/,
    ],
    [
      'unknown scope',
      publicClient({ scope: 'read admin' }),
      'invalid_client_metadata',
      /unknown scope/,
    ],
  ]
  for (const [name, info, error, description] of cases) {
    const result = await provider.registerClient(info as OAuthClientInformation).then(
      () => undefined,
      (e: unknown) => e as RegistrationError,
    )
    t.equal(result?.code, 'ERR_OAUTH_REGISTRATION', name)
    t.equal(result?.error, error, name)
    t.match(result?.errorDescription, description, name)
  }
  t.equal(provider.size.clients, 1, 'nothing stored')
})

t.test('options are checked at construction', async (t) => {
  const bad: Array<[unknown, RegExp]> = [
    [null, /^options /],
    [{ now: 1 }, /^options\.now/],
    [{ accessTokenLifetime: 0 }, /^options\.accessTokenLifetime/],
    [{ accessTokenLifetime: -1 }, /^options\.accessTokenLifetime/],
    [{ accessTokenLifetime: '60' }, /^options\.accessTokenLifetime/],
    [{ refreshTokenLifetime: Number.NaN }, /^options\.refreshTokenLifetime/],
    [{ codeLifetime: Number.POSITIVE_INFINITY }, /^options\.codeLifetime/],
    [{ issuer: '' }, /^options\.issuer/],
    [{ issuer: 5 }, /^options\.issuer/],
    [{ resources: 'https://a.example' }, /^options\.resources/],
    [{ resources: ['relative'] }, /^options\.resources/],
    [{ resources: ['https://a.example/#x'] }, /^options\.resources/],
    [{ resources: ['http://[bad'] }, /^options\.resources/],
    [{ resources: [1] }, /^options\.resources/],
    [{ scopes: ['a b'] }, /^options\.scopes/],
    [{ approve: 'yes' }, /^options\.approve/],
    [{ identityAssertion: {} }, /^options\.identityAssertion/],
  ]
  for (const [options, message] of bad) {
    t.throws(() => createMemoryProvider(options as never), {
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_VALUE',
      message,
    })
  }
  t.doesNotThrow(() =>
    createMemoryProvider({ refreshTokenLifetime: null, resources: ['urn:example:api'] }),
  )
})
