import t from 'tap'
import {
  WELL_KNOWN_PATH,
  bearerAuth,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
} from '../src/index.js'
import { ISSUER, RESOURCE, bearer, buildApp, standardVerifier } from './fixtures/app.js'

t.test('protectedResourceMetadataUrl puts the well-known segment before the path', async (t) => {
  t.equal(WELL_KNOWN_PATH, '/.well-known/oauth-protected-resource')
  t.equal(
    protectedResourceMetadataUrl('https://api.example.com/mcp'),
    'https://api.example.com/.well-known/oauth-protected-resource/mcp',
  )
  t.equal(
    protectedResourceMetadataUrl('https://api.example.com/v1/mcp/'),
    'https://api.example.com/.well-known/oauth-protected-resource/v1/mcp/',
  )
  t.equal(
    protectedResourceMetadataUrl('https://api.example.com'),
    'https://api.example.com/.well-known/oauth-protected-resource',
  )
  t.equal(
    protectedResourceMetadataUrl('https://api.example.com/'),
    'https://api.example.com/.well-known/oauth-protected-resource',
  )
  t.equal(
    protectedResourceMetadataUrl('http://127.0.0.1:8080/mcp'),
    'http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp',
  )
  t.throws(() => protectedResourceMetadataUrl('https://api.example.com/mcp?x=1'), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: 'resourceUrl must not contain a query',
  })
  t.throws(() => protectedResourceMetadataUrl('https://api.example.com/mcp#'), {
    message: 'resourceUrl must not contain a fragment',
  })
  t.throws(() => protectedResourceMetadataUrl('http://api.example.com/mcp'), {
    message: 'resourceUrl must use https (http is allowed only for loopback hosts)',
  })
  t.throws(() => protectedResourceMetadataUrl(42 as unknown as string), {
    message: 'resourceUrl must be a URL string',
  })
})

t.test('the metadata route serves RFC 9728 fields in snake_case, with CORS', async (t) => {
  const { app, logs } = buildApp(t)
  await app.register(bearerAuth, {
    verifier: standardVerifier(),
    requiredScopes: ['read'],
    resource: {
      url: RESOURCE,
      authorizationServers: [ISSUER, ISSUER],
      jwksUri: 'https://api.example.com/jwks.json',
      scopesSupported: ['read', 'admin'],
      bearerMethodsSupported: ['header'],
      resourceSigningAlgValuesSupported: ['RS256'],
      resourceName: 'Example MCP',
      resourceDocumentation: 'https://docs.example.com/mcp',
      resourcePolicyUri: 'https://example.com/policy',
      resourceTosUri: 'https://example.com/tos',
      tlsClientCertificateBoundAccessTokens: false,
      authorizationDetailsTypesSupported: ['payment'],
      dpopSigningAlgValuesSupported: ['ES256'],
      dpopBoundAccessTokensRequired: false,
    },
  })
  const res = await app.inject({
    url: '/.well-known/oauth-protected-resource/mcp',
    headers: { origin: 'https://inspector.example' },
  })
  t.equal(res.statusCode, 200, 'public although the plugin protects this scope')
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(res.headers['access-control-allow-origin'], '*')
  t.equal(
    res.body,
    JSON.stringify({
      resource: RESOURCE,
      authorization_servers: [ISSUER],
      jwks_uri: 'https://api.example.com/jwks.json',
      scopes_supported: ['read', 'admin'],
      bearer_methods_supported: ['header'],
      resource_signing_alg_values_supported: ['RS256'],
      resource_name: 'Example MCP',
      resource_documentation: 'https://docs.example.com/mcp',
      resource_policy_uri: 'https://example.com/policy',
      resource_tos_uri: 'https://example.com/tos',
      tls_client_certificate_bound_access_tokens: false,
      authorization_details_types_supported: ['payment'],
      dpop_signing_alg_values_supported: ['ES256'],
      dpop_bound_access_tokens_required: false,
    }),
  )
  const head = await app.inject({
    method: 'HEAD',
    url: '/.well-known/oauth-protected-resource/mcp',
  })
  t.equal(head.statusCode, 200)
  t.equal(head.headers['access-control-allow-origin'], '*')

  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/.well-known/oauth-protected-resource/mcp',
    headers: {
      origin: 'https://inspector.example',
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'mcp-protocol-version, x-trace',
    },
  })
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-origin'], '*')
  t.equal(preflight.headers['access-control-allow-methods'], 'GET, HEAD, OPTIONS')
  t.equal(preflight.headers['access-control-allow-headers'], 'mcp-protocol-version, x-trace')
  t.equal(preflight.headers['access-control-max-age'], '86400')

  const evil = await app.inject({
    method: 'OPTIONS',
    url: '/.well-known/oauth-protected-resource/mcp',
    headers: { 'access-control-request-method': 'GET', 'access-control-request-headers': 'a\tb' },
  })
  t.equal(evil.headers['access-control-allow-headers'], undefined, 'a malformed list is not echoed')

  t.equal((await app.inject({ url: '/.well-known/oauth-protected-resource' })).statusCode, 401)
  t.notOk(
    logs.lines.some(
      (l) =>
        l.includes('bearer token refused') && l.includes('well-known/oauth-protected-resource/mcp'),
    ),
  )
})

t.test('metadata for a resource without a path; only the defaults', async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, {
    verifier: standardVerifier(),
    resource: { url: 'https://api.example.com', authorizationServers: [ISSUER] },
  })
  const res = await app.inject({ url: '/.well-known/oauth-protected-resource' })
  t.equal(res.statusCode, 200)
  t.equal(
    res.body,
    '{"resource":"https://api.example.com","authorization_servers":["https://login.example.com/"],"bearer_methods_supported":["header"]}',
  )
  const challenge = await app.inject({ url: '/anything' })
  t.equal(
    challenge.headers['www-authenticate'],
    'Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"',
  )
})

t.test('allowOrigin: an origin, or false for no CORS', async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, {
    verifier: standardVerifier(),
    resource: { url: RESOURCE, authorizationServers: [ISSUER] },
    metadata: { allowOrigin: 'https://app.example.com' },
  })
  const res = await app.inject({ url: '/.well-known/oauth-protected-resource/mcp' })
  t.equal(res.headers['access-control-allow-origin'], 'https://app.example.com')

  const { app: quiet } = buildApp(t)
  await quiet.register(bearerAuth, {
    verifier: standardVerifier(),
    resource: { url: RESOURCE, authorizationServers: [ISSUER] },
    metadata: { allowOrigin: false },
  })
  const plain = await quiet.inject({ url: '/.well-known/oauth-protected-resource/mcp' })
  t.equal(plain.statusCode, 200)
  t.equal(plain.headers['access-control-allow-origin'], undefined)
  const preflight = await quiet.inject({
    method: 'OPTIONS',
    url: '/.well-known/oauth-protected-resource/mcp',
    headers: { origin: 'https://x.example', 'access-control-request-method': 'GET' },
  })
  t.equal(preflight.statusCode, 401, 'no preflight route without CORS: protected like any URL')
})

t.test('metadata: false serves nothing but challenges still point at the URL', async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, {
    verifier: standardVerifier(),
    resource: { url: RESOURCE, authorizationServers: [ISSUER] },
    metadata: false,
  })
  const res = await app.inject({ url: '/.well-known/oauth-protected-resource/mcp' })
  t.equal(res.statusCode, 401)
  t.equal(
    res.headers['www-authenticate'],
    'Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"',
  )
})

t.test('a resource path with a colon is served literally', async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, {
    verifier: standardVerifier(),
    audience: null,
    resource: { url: 'https://api.example.com/a:b', authorizationServers: [ISSUER] },
  })
  t.equal((await app.inject({ url: '/.well-known/oauth-protected-resource/a:b' })).statusCode, 200)
  t.equal((await app.inject({ url: '/.well-known/oauth-protected-resource/a:c' })).statusCode, 401)
})

t.test('protectedResourceMetadata at the root with bearerAuth under a prefix', async (t) => {
  const { app } = buildApp(t)
  const resource = { url: RESOURCE, authorizationServers: [ISSUER] }
  await app.register(protectedResourceMetadata, { resource })
  await app.register(
    async (api) => {
      await api.register(bearerAuth, { verifier: standardVerifier(), resource, metadata: false })
      api.get('/', async (request) => ({ client: request.accessToken?.clientId }))
    },
    { prefix: '/mcp' },
  )
  const meta = await app.inject({ url: '/.well-known/oauth-protected-resource/mcp' })
  t.equal(meta.statusCode, 200)
  t.equal(meta.headers['access-control-allow-origin'], '*')
  t.equal(meta.json<{ resource: string }>().resource, RESOURCE)
  const denied = await app.inject({ url: '/mcp' })
  t.equal(denied.statusCode, 401)
  t.equal(
    denied.headers['www-authenticate'],
    'Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"',
  )
  t.equal((await app.inject({ url: '/mcp', headers: bearer('good') })).statusCode, 200)
})

t.test('protectedResourceMetadata refuses bad options and prefixes', async (t) => {
  const { app } = buildApp(t)
  await t.rejects(
    async () => {
      await app.register(protectedResourceMetadata, {
        resource: { url: RESOURCE, authorizationServers: [] },
      })
    },
    {
      message:
        'options.resource.authorizationServers must be a non-empty array of authorization server issuer URLs',
    },
  )
  const { app: nested } = buildApp(t)
  await t.rejects(
    async () => {
      await nested.register(
        async (api) => {
          await api.register(protectedResourceMetadata, {
            resource: { url: RESOURCE, authorizationServers: [ISSUER] },
            allowOrigin: false,
          })
        },
        { prefix: '/x' },
      )
    },
    {
      code: 'ERR_INVALID_ARG_VALUE',
      message:
        'protectedResourceMetadata must be registered at the root of the app, not under the prefix "/x"',
    },
  )
})

t.test('a resource path with percent-encoding is served where its challenge points', async (t) => {
  // The router matches the decoded request path: a route registered with the encoded path was
  // never reached, and the URL every challenge named answered 401 instead of the document.
  for (const url of ['https://api.example.com/caf%C3%A9', 'https://api.example.com/a%20b/mcp']) {
    const { app } = buildApp(t)
    await app.register(bearerAuth, {
      verifier: standardVerifier(),
      resource: { url, authorizationServers: [ISSUER] },
    })
    await app.ready()
    const refused = await app.inject({ url: '/data' })
    const challenge = refused.headers['www-authenticate']
    const pointer = /resource_metadata="([^"]+)"/.exec(
      typeof challenge === 'string' ? challenge : '',
    )
    t.ok(pointer, url)
    const target = new URL(pointer?.[1] ?? 'https://x/')
    const res = await app.inject({ url: target.pathname })
    t.equal(res.statusCode, 200, url)
    t.equal(res.json<{ resource: string }>().resource, url)
    // RFC 3986 §6.2.2.1: lower-case hex digits name the same path.
    const lower = await app.inject({ url: target.pathname.toLowerCase() })
    t.equal(lower.statusCode, 200, 'lower-case escapes')
    const head = await app.inject({ method: 'HEAD', url: target.pathname })
    t.equal(head.statusCode, 200)
  }
})

t.test('a resource path with a malformed escape still registers', async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, {
    verifier: standardVerifier(),
    resource: { url: 'https://api.example.com/%zz', authorizationServers: [ISSUER] },
  })
  await t.resolves(async () => {
    await app.ready()
  })
})
