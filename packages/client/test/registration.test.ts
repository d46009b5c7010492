import { generateKeyPairSync, webcrypto } from 'node:crypto'
import { jwtVerify } from 'jose'
import t from 'tap'
import {
  createClientIdMetadataDocument,
  isClientIdMetadataUrl,
  obtainClient,
  probeResource,
  readBearerChallenge,
  registerClient,
  requestClientCredentials,
} from '../src/index.js'
import { asMetadata, json, loopbackOnly, startServer, type Recorded } from './fixtures/server.js'

loopbackOnly(t)

const CIMD = 'https://app.example.com/oauth/client.json'
const METADATA = {
  client_name: 'test',
  redirect_uris: ['http://127.0.0.1:9/cb'],
  token_endpoint_auth_method: 'none' as const,
}

t.test(
  'the MCP priority order: pre-registered, metadata document, dynamic, else an error',
  async (t) => {
    const s = await startServer(t)
    s.route(
      '/register',
      json(
        {
          client_id: 'dyn-1',
          client_secret: 'dyn-secret',
          token_endpoint_auth_method: 'client_secret_post',
        },
        201,
      ),
    )
    const server = asMetadata(s.origin, { client_id_metadata_document_supported: true }) as never

    const pre = await obtainClient(server, {
      client: { clientId: 'pre' },
      clientMetadataUrl: CIMD,
      clientMetadata: METADATA,
    })
    t.same([pre.method, pre.client.clientId], ['pre-registered', 'pre'])
    const bound = await obtainClient(server, {
      client: { clientId: 'pre', issuer: s.origin },
      clientMetadataUrl: CIMD,
    })
    t.equal(bound.method, 'pre-registered')

    // A client registered elsewhere is not used here; the next way is.
    const cimd = await obtainClient(server, {
      client: { clientId: 'pre', issuer: 'https://other.example' },
      clientMetadataUrl: CIMD,
      clientMetadata: METADATA,
    })
    t.same(cimd, {
      method: 'client-id-metadata-document',
      client: { clientId: CIMD, authMethod: 'none', issuer: s.origin },
      registration: undefined,
    })
    t.equal(s.hits('/register').length, 0)

    const dynamic = await obtainClient(asMetadata(s.origin) as never, {
      clientMetadataUrl: CIMD,
      clientMetadata: METADATA,
    })
    t.equal(dynamic.method, 'dynamic')
    t.same(dynamic.client, {
      clientId: 'dyn-1',
      clientSecret: 'dyn-secret',
      authMethod: 'client_secret_post',
      issuer: s.origin,
    })
    const [registration] = s.hits('/register')
    t.equal(registration?.headers['content-type'], 'application/json')
    t.same(JSON.parse(registration?.body ?? ''), METADATA)

    await t.rejects(
      obtainClient(asMetadata(s.origin, { registration_endpoint: undefined }) as never, {
        clientMetadataUrl: CIMD,
        clientMetadata: METADATA,
      }),
      {
        code: 'ERR_CLIENT_REQUIRED',
        message: /supply a pre-registered client/,
      },
    )
    await t.rejects(obtainClient(asMetadata(s.origin) as never, {}), {
      code: 'ERR_CLIENT_REQUIRED',
    })
    await t.rejects(obtainClient(server, { clientMetadataUrl: 'http://app.example.com/c.json' }), {
      code: 'ERR_INVALID_ARG_VALUE',
    })
    await t.rejects(obtainClient(null as never, {}), { code: 'ERR_INVALID_ARG_VALUE' })
  },
)

t.test('dynamic registration: refusals and broken answers', async (t) => {
  const s = await startServer(t)
  const server = asMetadata(s.origin) as never
  s.route(
    '/register',
    json({ error: 'invalid_redirect_uri', error_description: 'loopback only' }, 400),
  )
  await t.rejects(registerClient(server, METADATA), {
    code: 'ERR_OAUTH_ERROR_RESPONSE',
    status: 400,
    oauthError: { error: 'invalid_redirect_uri', error_description: 'loopback only' },
  })
  for (const body of [
    {},
    { client_id: '' },
    { client_id: 'a', client_secret: 5 },
    { client_id: 'a', token_endpoint_auth_method: 3 },
  ]) {
    s.route('/register', json(body, 201))
    await t.rejects(
      registerClient(server, METADATA),
      { code: 'ERR_INVALID_RESPONSE' },
      JSON.stringify(body),
    )
  }
  s.route('/register', json({ client_id: 'a', token_endpoint_auth_method: 'tls_client_auth' }, 201))
  await t.rejects(registerClient(server, METADATA), {
    code: 'ERR_INVALID_RESPONSE',
    message: /cannot use/,
  })
  // The server chose private_key_jwt and no key was given: the client could only go on as a
  // public one, so it is refused here rather than at its first token request.
  s.route('/register', json({ client_id: 'a', token_endpoint_auth_method: 'private_key_jwt' }, 200))
  await t.rejects(registerClient(server, METADATA), {
    code: 'ERR_CLIENT_KEY_REQUIRED',
    status: 200,
    url: `${s.origin}/register`,
    message: /registered the client for private_key_jwt; give the clientKey/,
  })
  s.route('/register', { status: 302, headers: { location: 'https://evil.example/register' } })
  await t.rejects(registerClient(server, METADATA), { code: 'ERR_REDIRECT_REFUSED' })
  await t.rejects(
    registerClient(asMetadata(s.origin, { registration_endpoint: undefined }) as never, METADATA),
    { code: 'ERR_UNSUPPORTED_BY_SERVER' },
  )
  await t.rejects(registerClient(server, null as never), { code: 'ERR_INVALID_ARG_VALUE' })
  await t.rejects(registerClient(null as never, METADATA), { code: 'ERR_INVALID_ARG_VALUE' })
})

t.test('dynamic registration with private_key_jwt: the client signs with the key', async (t) => {
  const s = await startServer(t)
  const server = asMetadata(s.origin) as never
  const resource = 'https://mcp.example.com/mcp'
  // RFC 7591 §3.2.1: the server answers with the metadata it registered.
  s.route('/register', (request: Recorded) =>
    json({ client_id: 'pk-1', ...(JSON.parse(request.body) as object) }, 201),
  )
  s.route('/token', json({ access_token: 'at-1', token_type: 'Bearer' }))
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig' }
  const metadata = {
    client_name: 'svc',
    grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'private_key_jwt' as const,
    jwks: { keys: [{ ...other.publicKey.export({ format: 'jwk' }), kid: 'k0' }, jwk] },
  }

  const { client } = await registerClient(server, metadata, { clientKey: { privateKey } })
  t.same(
    { ...client },
    { clientId: 'pk-1', authMethod: 'private_key_jwt', privateKey, keyId: 'k1', issuer: s.origin },
    'the kid of the matching JWK',
  )
  t.same(JSON.parse(s.hits('/register')[0]?.body ?? ''), metadata, 'only the metadata is sent')
  await requestClientCredentials({ server, client }, { resource })
  const [token] = s.hits('/token')
  t.equal(token?.headers.authorization, undefined, 'no Basic credentials')
  t.same([...(token?.form.keys() ?? [])].sort(), [
    'client_assertion',
    'client_assertion_type',
    'client_id',
    'grant_type',
    'resource',
  ])
  t.equal(token?.form.get('client_id'), 'pk-1')
  const { payload, protectedHeader } = await jwtVerify(
    token?.form.get('client_assertion') ?? '',
    publicKey,
    { issuer: 'pk-1', subject: 'pk-1', audience: s.origin },
  )
  t.same(protectedHeader, { alg: 'ES256', kid: 'k1' })
  t.type(payload.jti, 'string')

  // Through obtainClient, with an explicit kid and audience; and a webcrypto key.
  const obtained = await obtainClient(server, {
    clientMetadata: metadata,
    clientKey: { privateKey, keyId: 'mine', assertionAudience: 'token_endpoint' },
  })
  t.match(obtained, {
    method: 'dynamic',
    client: { authMethod: 'private_key_jwt', keyId: 'mine', assertionAudience: 'token_endpoint' },
  })
  const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, false, [
    'sign',
    'verify',
  ])
  const crypto = await registerClient(
    server,
    { ...metadata, jwks: { keys: [await webcrypto.subtle.exportKey('jwk', pair.publicKey)] } },
    { clientKey: { privateKey: pair.privateKey } },
  )
  t.equal(crypto.client.privateKey, pair.privateKey)
  t.equal(crypto.client.keyId, undefined, 'no kid in the JWK, none in the header')
  // A jwks_uri is not fetched, so the key cannot be checked against it.
  const byUri = await registerClient(
    server,
    { ...metadata, jwks: undefined, jwks_uri: 'https://app.example.com/jwks.json' },
    { clientKey: { privateKey } },
  )
  t.equal(byUri.client.authMethod, 'private_key_jwt')
  // The server may register another method (RFC 7591 §3.2.1): its method, without the key.
  s.route(
    '/register',
    json(
      {
        client_id: 'b',
        client_secret: 'b-secret',
        token_endpoint_auth_method: 'client_secret_basic',
      },
      201,
    ),
  )
  const noMethod = { client_name: 'svc', grant_types: ['client_credentials'] }
  const secret = await registerClient(server, noMethod, { clientKey: { privateKey } })
  t.same(
    { ...secret.client },
    {
      clientId: 'b',
      clientSecret: 'b-secret',
      authMethod: 'client_secret_basic',
      issuer: s.origin,
    },
  )
  t.equal(s.hits('/register').length, 5)
})

t.test('a private_key_jwt key that cannot work is refused before registering', async (t) => {
  const s = await startServer(t)
  const server = asMetadata(s.origin) as never
  s.route('/register', json({ client_id: 'x', token_endpoint_auth_method: 'private_key_jwt' }, 201))
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const pk = { ...METADATA, token_endpoint_auth_method: 'private_key_jwt' as const }
  const own = { keys: [publicKey.export({ format: 'jwk' })] }
  const cases: [string, Record<string, unknown>, unknown, RegExp][] = [
    [
      'no key',
      pk,
      undefined,
      /options.clientKey is required when metadata.token_endpoint_auth_method is private_key_jwt/,
    ],
    ['a key for another method', METADATA, { privateKey }, /options.clientKey is only for/],
    ['an RSA key', pk, { privateKey: rsa.privateKey }, /options.clientKey.privateKey/],
    ['a public key', pk, { privateKey: publicKey }, /options.clientKey.privateKey/],
    ['a PEM string', pk, { privateKey: 'pem' }, /options.clientKey.privateKey/],
    [
      'a key not in jwks',
      { ...pk, jwks: { keys: [stranger.export({ format: 'jwk' })] } },
      { privateKey },
      /options.clientKey.privateKey must be the private half of a signing key in metadata.jwks/,
    ],
    [
      'its JWK for encryption only',
      { ...pk, jwks: { keys: [{ ...own.keys[0], use: 'enc' }] } },
      { privateKey },
      /metadata.jwks/,
    ],
    ['jwks without keys', { ...pk, jwks: { keys: 'x' } }, { privateKey }, /metadata.jwks/],
    ['jwks null', { ...pk, jwks: null }, { privateKey }, /metadata.jwks/],
    ['a misspelt option', pk, { privateKey, kid: 'k1' }, /keyId/],
    ['a bad audience', pk, { privateKey, assertionAudience: 'aud' }, /assertionAudience/],
    ['a bad kid', pk, { privateKey, keyId: '' }, /keyId/],
  ]
  for (const [name, metadata, clientKey, message] of cases) {
    await t.rejects(
      registerClient(server, metadata, clientKey === undefined ? {} : ({ clientKey } as never)),
      { code: 'ERR_INVALID_ARG_VALUE', message },
      name,
    )
  }
  await t.rejects(obtainClient(server, { clientMetadataUrl: CIMD, clientKey: { privateKey } }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /options.clientKey is only used with options.clientMetadata/,
  })
  await t.rejects(obtainClient(server, { clientMetadata: pk }), {
    message: /options.clientKey is required when options.clientMetadata.token_endpoint_auth_method/,
  })
  await t.rejects(
    obtainClient(server, { clientMetadata: 'x' as never, clientKey: { privateKey } }),
    {
      message: /metadata must be client metadata/,
    },
  )
  t.equal(s.hits('/register').length, 0, 'nothing was registered')
  // With its own JWK the same key registers.
  const ok = await registerClient(server, { ...pk, jwks: own }, { clientKey: { privateKey } })
  t.equal(ok.client.authMethod, 'private_key_jwt')
})

t.test('the Client ID Metadata Document builder', async (t) => {
  t.same(
    createClientIdMetadataDocument({
      clientId: CIMD,
      clientName: 'App',
      redirectUris: ['http://127.0.0.1:8976/callback'],
    }),
    {
      client_id: CIMD,
      client_name: 'App',
      redirect_uris: ['http://127.0.0.1:8976/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
  )
  t.same(
    createClientIdMetadataDocument({
      clientId: CIMD,
      clientName: 'Svc',
      redirectUris: ['https://app.example.com/cb'],
      grantTypes: ['client_credentials'],
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri: 'https://app.example.com/jwks.json',
      jwks: { keys: [] },
      clientUri: 'https://app.example.com',
      logoUri: 'https://app.example.com/logo.png',
      scope: 'mcp:tools',
    }),
    {
      client_id: CIMD,
      client_name: 'Svc',
      redirect_uris: ['https://app.example.com/cb'],
      grant_types: ['client_credentials'],
      response_types: [],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: 'https://app.example.com/jwks.json',
      jwks: { keys: [] },
      client_uri: 'https://app.example.com/',
      logo_uri: 'https://app.example.com/logo.png',
      scope: 'mcp:tools',
    },
  )
  const base = { clientId: CIMD, clientName: 'App', redirectUris: ['http://127.0.0.1:1/cb'] }
  for (const [name, change] of [
    ['http client id', { clientId: 'http://app.example.com/c.json' }],
    ['root path', { clientId: 'https://app.example.com/' }],
    ['fragment', { clientId: `${CIMD}#x` }],
    ['dot segment', { clientId: 'https://app.example.com/a/../c.json' }],
    ['credentials', { clientId: 'https://u:p@app.example.com/c.json' }],
    ['no redirect', { redirectUris: [] }],
    ['bad redirect', { redirectUris: ['http://evil.example/cb'] }],
    ['no grant', { grantTypes: [] }],
    ['secret method', { tokenEndpointAuthMethod: 'client_secret_basic' }],
    ['no keys', { tokenEndpointAuthMethod: 'private_key_jwt' }],
    ['bad jwks', { jwks: { keys: 'x' } }],
    ['bad jwks uri', { jwksUri: 'ftp://x' }],
    ['unknown', { client_name: 'x' }],
  ] as const) {
    t.throws(
      () => createClientIdMetadataDocument({ ...base, ...change } as never),
      { code: 'ERR_INVALID_ARG_VALUE' },
      name,
    )
  }
  t.equal(isClientIdMetadataUrl(CIMD), true)
  t.equal(isClientIdMetadataUrl(42), false)
  t.equal(isClientIdMetadataUrl('not a url'), false)
})

t.test('probe: the challenge of a 401 and a 403; the token only in the header', async (t) => {
  const s = await startServer(t)
  s.route('/mcp', (request) =>
    request.headers.authorization === 'Bearer small'
      ? {
          status: 403,
          headers: {
            'www-authenticate':
              'Bearer error="insufficient_scope", scope="a b", resource_metadata="https://r/m"',
          },
        }
      : request.headers.authorization === 'Bearer good'
        ? json({ jsonrpc: '2.0', id: 1, result: {} })
        : {
            status: 401,
            headers: { 'www-authenticate': 'Bearer resource_metadata="https://r/m", scope="a"' },
          },
  )
  const anonymous = await probeResource(`${s.origin}/mcp`)
  t.equal(anonymous.status, 401)
  t.match(anonymous.challenge, {
    error: undefined,
    scope: 'a',
    scopes: ['a'],
    resourceMetadata: 'https://r/m',
  })
  const small = await probeResource(`${s.origin}/mcp`, { token: 'small' })
  t.match(small.challenge, { error: 'insufficient_scope', scopes: ['a', 'b'] })
  const good = await probeResource(`${s.origin}/mcp`, {
    token: 'good',
    protocolVersion: '2025-11-25',
  })
  t.same([good.status, good.challenge], [200, undefined])
  const [first] = s.requests
  t.equal(first?.method, 'POST')
  t.equal(first?.headers.accept, 'application/json, text/event-stream')
  t.match(JSON.parse(first?.body ?? ''), { jsonrpc: '2.0', method: 'initialize' })
  t.match(JSON.parse(s.requests[2]?.body ?? ''), { params: { protocolVersion: '2025-11-25' } })
  t.ok(
    s.requests.every((r) => r.url.search === ''),
    'never a token in the URL',
  )
  // A resource that is not an MCP server: a plain GET, no body, the token in the header only.
  s.route('/api/notes', (request) =>
    request.method !== 'GET'
      ? { status: 405 }
      : request.headers.authorization === 'Bearer small'
        ? {
            status: 403,
            headers: {
              'www-authenticate': 'Bearer error="insufficient_scope", scope="notes:read"',
            },
          }
        : {
            status: 401,
            headers: { 'www-authenticate': 'Bearer resource_metadata="https://r/notes"' },
          },
  )
  const api = await probeResource(`${s.origin}/api/notes`, { method: 'GET' })
  t.same([api.status, api.challenge?.resourceMetadata], [401, 'https://r/notes'])
  const apiSmall = await probeResource(`${s.origin}/api/notes`, { method: 'GET', token: 'small' })
  t.match(apiSmall.challenge, { error: 'insufficient_scope', scopes: ['notes:read'] })
  const gets = s.hits('/api/notes')
  t.same(
    gets.map((r) => [r.method, r.body, r.headers['content-type'], r.headers.accept]),
    [
      ['GET', '', undefined, '*/*'],
      ['GET', '', undefined, '*/*'],
    ],
  )
  t.same(
    gets.map((r) => r.headers.authorization),
    [undefined, 'Bearer small'],
  )
  t.equal((await probeResource(`${s.origin}/api/notes`)).status, 405, 'POST stays the default')
  for (const [name, options, message] of [
    ['method', { method: 'PUT' }, /options.method must be POST or GET/],
    [
      'protocolVersion with GET',
      { method: 'GET', protocolVersion: '2025-11-25' },
      /options.protocolVersion is only sent in the POST/,
    ],
  ] as const) {
    await t.rejects(
      probeResource(`${s.origin}/api/notes`, options as never),
      { code: 'ERR_INVALID_ARG_VALUE', message },
      name,
    )
  }
  t.equal(s.hits('/api/notes').length, 3, 'nothing sent for a mistaken option')
  s.route('/mcp', { status: 401, headers: { 'www-authenticate': 'Basic realm="x"' } })
  t.same((await probeResource(`${s.origin}/mcp`)).challenge, undefined)
  await t.rejects(probeResource(`${s.origin}/mcp`, { token: '' }), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
  t.equal(readBearerChallenge(undefined), undefined)
})
