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
    publicClient({ client_id: 'p1', redirect_uris: ['http://127.0.0.1:8080/cb'] }),
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

t.test('dynamic registration accepts anything big or odd (finding 7)', async (t) => {
  const provider = createMemoryProvider()
  const many = Array.from({ length: 100_000 }, (_, i) => `https://app.example.com/cb/${i}`)
  const cases: Array<[string, Partial<OAuthClientInformation>, string, RegExp]> = [
    ['100,000 redirect_uris', { redirect_uris: many }, 'invalid_client_metadata', /bytes/],
    [
      '21 redirect_uris',
      { redirect_uris: many.slice(0, 21) },
      'invalid_redirect_uri',
      /at most 20/,
    ],
    [
      'a 2001-character redirect URI',
      { redirect_uris: [`https://app.example.com/${'a'.repeat(1977)}`] },
      'invalid_redirect_uri',
      /https/,
    ],
    [
      'a 5 MB client_name',
      { client_name: 'x'.repeat(5_000_000) },
      'invalid_client_metadata',
      /bytes/,
    ],
    [
      'a 1001-character client_name',
      { client_name: 'x'.repeat(1001) },
      'invalid_client_metadata',
      /client_name/,
    ],
    [
      'a client_name that is not a string',
      { client_name: 5 as never },
      'invalid_client_metadata',
      /client_name/,
    ],
    [
      'javascript: in logo_uri',
      { logo_uri: 'javascript:alert(document.cookie)' },
      'invalid_client_metadata',
      /logo_uri/,
    ],
    [
      'javascript: in client_uri',
      { client_uri: 'javascript:alert(1)' },
      'invalid_client_metadata',
      /client_uri/,
    ],
    [
      'data: in tos_uri',
      { tos_uri: 'data:text/html,<script>x</script>' },
      'invalid_client_metadata',
      /tos_uri/,
    ],
    [
      'http on a public host in policy_uri',
      { policy_uri: 'http://app.example.com/p' },
      'invalid_client_metadata',
      /policy_uri/,
    ],
    [
      'userinfo in jwks_uri',
      { jwks_uri: 'https://user:pw@app.example.com/jwks' },
      'invalid_client_metadata',
      /jwks_uri/,
    ],
    [
      'a backslash in client_uri',
      { client_uri: 'https://app.example.com\\@evil.example' },
      'invalid_client_metadata',
      /client_uri/,
    ],
    ['not a URL in logo_uri', { logo_uri: 'logo.png' }, 'invalid_client_metadata', /logo_uri/],
    [
      'client_secret_expires_at: "yesterday"',
      { client_secret_expires_at: 'yesterday' as never },
      'invalid_client_metadata',
      /client_secret_expires_at/,
    ],
    [
      'client_secret_expires_at: NaN',
      { client_secret_expires_at: Number.NaN },
      'invalid_client_metadata',
      /client_secret_expires_at/,
    ],
    [
      'client_secret_expires_at: 1.5',
      { client_secret_expires_at: 1.5 },
      'invalid_client_metadata',
      /client_secret_expires_at/,
    ],
    [
      'client_id_issued_at: -1',
      { client_id_issued_at: -1 },
      'invalid_client_metadata',
      /client_id_issued_at/,
    ],
    [
      '11 contacts',
      { contacts: Array.from({ length: 11 }, () => 'a@example.com') },
      'invalid_client_metadata',
      /contacts/,
    ],
    ['contacts not strings', { contacts: [1] as never }, 'invalid_client_metadata', /contacts/],
    [
      'contacts not an array',
      { contacts: 'a@example.com' as never },
      'invalid_client_metadata',
      /contacts/,
    ],
    ['a 1001-character scope', { scope: 'a'.repeat(1001) }, 'invalid_client_metadata', /scope/],
    [
      'a 1001-character client_secret',
      { client_secret: 's'.repeat(1001) },
      'invalid_client_metadata',
      /client_secret/,
    ],
    [
      'a 1001-character client_id',
      { client_id: 'c'.repeat(1001) },
      'invalid_client_metadata',
      /client_id/,
    ],
    ['a cycle', { extra_member: undefined }, 'invalid_client_metadata', /bytes/],
    ['a BigInt member', { extra_member: 1n }, 'invalid_client_metadata', /bytes/],
    [
      'userinfo in a redirect URI',
      { redirect_uris: ['https://app.example.com@evil.example/cb'] },
      'invalid_redirect_uri',
      /userinfo/,
    ],
    [
      'a backslash in a redirect URI',
      { redirect_uris: ['https://app.example.com\\@evil.example/cb'] },
      'invalid_redirect_uri',
      /backslash/,
    ],
    [
      'http://localhost (RFC 8252 §8.3)',
      { redirect_uris: ['http://localhost:8080/cb'] },
      'invalid_redirect_uri',
      /loopback IP/,
    ],
  ]
  for (const [name, fields, error, message] of cases) {
    const info = confidentialClient(fields)
    if (name === 'a cycle') info.extra_member = { self: info }
    const refusal = await provider.registerClient(info).then(
      () => undefined,
      (e: unknown) => e as RegistrationError,
    )
    t.equal(refusal?.code, 'ERR_OAUTH_REGISTRATION', name)
    t.equal(refusal?.error, error, name)
    t.match(refusal?.errorDescription, message, name)
    t.ok((refusal?.errorDescription ?? '').length < 200, `${name}: a short description`)
  }
  t.equal(provider.size.clients, 0)
  // At the bounds, accepted.
  await provider.registerClient(
    confidentialClient({
      redirect_uris: many.slice(0, 20),
      client_name: 'x'.repeat(1000),
      client_uri: 'https://app.example.com/',
      logo_uri: 'http://127.0.0.1:8080/logo.png',
      tos_uri: 'https://app.example.com/tos',
      policy_uri: 'https://app.example.com/policy',
      jwks_uri: 'https://app.example.com/jwks',
      software_id: 'app',
      software_version: '1.0.0',
      contacts: Array.from({ length: 10 }, () => 'a@example.com'),
      client_id_issued_at: 1_700_000_000,
      client_secret_expires_at: 0,
    }),
  )
  t.equal(provider.size.clients, 1)
})

t.test('MemoryProvider options: unknown ones are refused with a hint', async (t) => {
  t.throws(() => createMemoryProvider({ accessTokenLifetme: 60 } as never), {
    code: 'ERR_INVALID_ARG_VALUE',
    message:
      /options\.accessTokenLifetme is not a known option: did you mean `accessTokenLifetime`\?/,
  })
  t.throws(() => createMemoryProvider(Promise.resolve({}) as never), {
    message: /did you forget `await`/,
  })
})
