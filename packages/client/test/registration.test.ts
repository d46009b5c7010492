import t from 'tap'
import {
  createClientIdMetadataDocument,
  isClientIdMetadataUrl,
  obtainClient,
  probeResource,
  readBearerChallenge,
  registerClient,
} from '../src/index.js'
import { asMetadata, json, loopbackOnly, startServer } from './fixtures/server.js'

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
  s.route('/register', json({ client_id: 'a', token_endpoint_auth_method: 'private_key_jwt' }, 200))
  const jwt = await registerClient(server, METADATA)
  t.same(jwt.client, { clientId: 'a', issuer: s.origin })
  t.same(jwt.response, { client_id: 'a', token_endpoint_auth_method: 'private_key_jwt' })
  s.route('/register', { status: 302, headers: { location: 'https://evil.example/register' } })
  await t.rejects(registerClient(server, METADATA), { code: 'ERR_REDIRECT_REFUSED' })
  await t.rejects(
    registerClient(asMetadata(s.origin, { registration_endpoint: undefined }) as never, METADATA),
    { code: 'ERR_UNSUPPORTED_BY_SERVER' },
  )
  await t.rejects(registerClient(server, null as never), { code: 'ERR_INVALID_ARG_VALUE' })
  await t.rejects(registerClient(null as never, METADATA), { code: 'ERR_INVALID_ARG_VALUE' })
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
  s.route('/mcp', { status: 401, headers: { 'www-authenticate': 'Basic realm="x"' } })
  t.same((await probeResource(`${s.origin}/mcp`)).challenge, undefined)
  await t.rejects(probeResource(`${s.origin}/mcp`, { token: '' }), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
  t.equal(readBearerChallenge(undefined), undefined)
})
