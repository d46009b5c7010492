import nock from 'nock'
import t from 'tap'
import {
  authorizationServerMetadataUrls,
  discoverAuthorizationServerMetadata,
  discoverProtectedResource,
  isOAuthClientError,
  resourceMetadataUrlFromChallenge,
} from '../src/index.js'
import { asMetadata, json, loopbackOnly, startServer } from './fixtures/server.js'

loopbackOnly(t)

const codeOf = (error: unknown): unknown => (isOAuthClientError(error) ? error.code : error)

t.test('protected resource: the challenge URL first, and no well-known request', async (t) => {
  const s = await startServer(t)
  const resource = `${s.origin}/mcp`
  s.route('/meta/prm', json({ resource, authorization_servers: ['https://as.example.com'] }))
  const found = await discoverProtectedResource(resource, {
    wwwAuthenticate: `Basic realm="x", Bearer error="invalid_token", resource_metadata="${s.origin}/meta/prm"`,
  })
  t.equal(found.source, 'www-authenticate')
  t.equal(found.metadataUrl, `${s.origin}/meta/prm`)
  t.same(found.authorizationServers, ['https://as.example.com'])
  t.same(found.attempts, [{ url: `${s.origin}/meta/prm`, outcome: 'found', status: 200 }])
  t.same(
    s.requests.map((r) => r.path),
    ['/meta/prm'],
  )
})

t.test('protected resource: path-inserted, then root, then the legacy fallback', async (t) => {
  const s = await startServer(t)
  const resource = `${s.origin}/tenant/mcp`
  const path = '/.well-known/oauth-protected-resource/tenant/mcp'
  const root = '/.well-known/oauth-protected-resource'

  s.route(
    path,
    json({ resource, authorization_servers: [`${s.origin}/as`], scopes_supported: ['a', 'b'] }),
  )
  const byPath = await discoverProtectedResource(resource)
  t.equal(byPath.source, 'path')
  t.same(byPath.scopesSupported, ['a', 'b'])
  t.equal(byPath.resource, resource)

  s.route(path, { status: 404 })
  s.route(root, json({ resource: `${s.origin}/`, authorization_servers: [`${s.origin}/as`] }))
  const byRoot = await discoverProtectedResource(resource)
  t.equal(byRoot.source, 'root')
  t.equal(
    byRoot.resource,
    `${s.origin}/`,
    'the root document names the origin: that is the indicator',
  )
  t.same(
    byRoot.attempts.map((a) => [a.url, a.outcome, a.status]),
    [
      [`${s.origin}${path}`, 'not_found', 404],
      [`${s.origin}${root}`, 'found', 200],
    ],
  )

  s.route(root, { status: 404 })
  const legacy = await discoverProtectedResource(resource)
  t.equal(legacy.source, 'legacy')
  t.same(legacy.authorizationServers, [s.origin])
  t.equal(legacy.metadataUrl, undefined)
  t.equal(legacy.attempts.length, 2)

  await t.rejects(discoverProtectedResource(resource, { legacyFallback: false }), {
    code: 'ERR_RESOURCE_METADATA_NOT_FOUND',
  })
})

t.test('protected resource: a resource without a path tries the root only', async (t) => {
  const s = await startServer(t)
  s.route(
    '/.well-known/oauth-protected-resource',
    json({ resource: s.origin, authorization_servers: [s.origin] }),
  )
  const found = await discoverProtectedResource(s.origin)
  t.equal(found.source, 'root')
  t.equal(s.requests.length, 1)
})

t.test('protected resource: hostile and broken documents', async (t) => {
  const s = await startServer(t)
  const resource = `${s.origin}/mcp`
  const path = '/.well-known/oauth-protected-resource/mcp'

  // A document for another resource at this resource's location (the wrong path's document).
  s.route(
    path,
    json({ resource: `${s.origin}/other`, authorization_servers: ['https://evil.example'] }),
  )
  await t.rejects(discoverProtectedResource(resource), { code: 'ERR_RESOURCE_MISMATCH' })
  // The origin is accepted only from the root location, not from the path-inserted one.
  s.route(path, json({ resource: s.origin, authorization_servers: ['https://as.example'] }))
  await t.rejects(discoverProtectedResource(resource), { code: 'ERR_RESOURCE_MISMATCH' })
  // A trailing slash is another resource: no normalisation.
  s.route(path, json({ resource: `${resource}/`, authorization_servers: ['https://as.example'] }))
  await t.rejects(discoverProtectedResource(resource), { code: 'ERR_RESOURCE_MISMATCH' })
  // The challenge URL's document must name this resource too.
  s.route(
    '/elsewhere',
    json({ resource: 'https://victim.example/mcp', authorization_servers: ['https://as.example'] }),
  )
  await t.rejects(
    discoverProtectedResource(resource, {
      wwwAuthenticate: `Bearer resource_metadata="${s.origin}/elsewhere"`,
    }),
    { code: 'ERR_RESOURCE_MISMATCH' },
  )

  s.route(path, json({ resource }))
  await t.rejects(discoverProtectedResource(resource), { code: 'ERR_NO_AUTHORIZATION_SERVER' })
  s.route(path, json({ resource, authorization_servers: [] }))
  await t.rejects(discoverProtectedResource(resource), { code: 'ERR_NO_AUTHORIZATION_SERVER' })
  s.route(path, json({ resource, authorization_servers: ['http://as.example.com'] }))
  await t.rejects(
    discoverProtectedResource(resource),
    { code: 'ERR_INVALID_RESPONSE' },
    'http off loopback',
  )
  s.route(path, json({ resource, authorization_servers: 'https://as.example.com' }))
  await t.rejects(discoverProtectedResource(resource), { code: 'ERR_INVALID_RESPONSE' })
  s.route(
    path,
    json({ resource, authorization_servers: ['https://as.example'], scopes_supported: 'a b' }),
  )
  await t.rejects(discoverProtectedResource(resource), { code: 'ERR_INVALID_RESPONSE' })
  s.route(path, { status: 200, headers: { 'content-type': 'text/html' }, body: '<html>' })
  await t.rejects(discoverProtectedResource(resource), { code: 'ERR_INVALID_RESPONSE' })
  s.route(path, {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: '{"resource":',
  })
  await t.rejects(discoverProtectedResource(resource), { code: 'ERR_INVALID_RESPONSE' })
  s.route(path, json([resource]))
  await t.rejects(discoverProtectedResource(resource), { code: 'ERR_INVALID_RESPONSE' })

  // An outage is not "no metadata": no fallback to the next location or to legacy.
  s.route(path, json({ error: 'temporarily_unavailable' }, 503, { 'retry-after': '7' }))
  const outage = await discoverProtectedResource(resource).catch((e: unknown) => e)
  t.match(outage, {
    code: 'ERR_OAUTH_ERROR_RESPONSE',
    status: 503,
    retryAfter: 7,
    error: 'temporarily_unavailable',
  })
  s.route(path, { status: 500 })
  await t.rejects(discoverProtectedResource(resource), {
    code: 'ERR_UNEXPECTED_STATUS',
    status: 500,
  })
  s.route(path, { status: 429 })
  await t.rejects(discoverProtectedResource(resource), {
    code: 'ERR_UNEXPECTED_STATUS',
    status: 429,
  })
  t.equal(s.hits('/.well-known/oauth-protected-resource').length, 0, 'the root was never tried')

  // A redirect to another host during discovery is refused, not followed.
  s.route(path, { status: 302, headers: { location: 'https://evil.example/prm' } })
  await t.rejects(discoverProtectedResource(resource), { code: 'ERR_REDIRECT_REFUSED' })

  // A challenge URL that is not usable, or has no document.
  await t.rejects(
    discoverProtectedResource(resource, {
      wwwAuthenticate: 'Bearer resource_metadata="http://evil.example/x"',
    }),
    {
      code: 'ERR_INVALID_RESPONSE',
    },
  )
  await t.rejects(
    discoverProtectedResource(resource, {
      wwwAuthenticate: `Bearer resource_metadata="${s.origin}/missing"`,
    }),
    {
      code: 'ERR_RESOURCE_METADATA_NOT_FOUND',
      status: 404,
    },
  )
})

t.test('protected resource: limits and options', async (t) => {
  const s = await startServer(t)
  const resource = `${s.origin}/mcp`
  s.route(
    '/.well-known/oauth-protected-resource/mcp',
    json({ resource, authorization_servers: ['https://as.example'], pad: 'x'.repeat(2000) }),
  )
  await t.rejects(discoverProtectedResource(resource, { maxBytes: 1000 }), {
    code: 'ERR_RESPONSE_TOO_LARGE',
  })
  s.route('/.well-known/oauth-protected-resource/mcp', () => new Promise(() => undefined))
  await t.rejects(discoverProtectedResource(resource, { timeout: 50 }), {
    code: 'ERR_REQUEST_TIMEOUT',
  })
  const controller = new AbortController()
  const aborted = discoverProtectedResource(resource, { signal: controller.signal })
  controller.abort(new Error('stop'))
  await t.rejects(aborted, { message: 'stop' })
  await t.rejects(discoverProtectedResource('http://127.0.0.1:1/mcp'), {
    code: 'ERR_REQUEST_FAILED',
  })

  await t.rejects(discoverProtectedResource('ftp://x/mcp'), { code: 'ERR_INVALID_ARG_VALUE' })
  await t.rejects(discoverProtectedResource(resource, { legacyFallbak: true } as never), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /did you mean `legacyFallback`/,
  })
  await t.rejects(discoverProtectedResource(resource, { wwwAuthenticate: 42 } as never), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
  await t.rejects(discoverProtectedResource(resource, { signal: {} } as never), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
  await t.rejects(discoverProtectedResource(resource, { timeout: 0 }), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
  await t.rejects(discoverProtectedResource(resource, { maxBytes: 1.5 }), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
  await t.rejects(discoverProtectedResource(resource, Promise.resolve({}) as never), {
    message: /await/,
  })
})

t.test('resourceMetadataUrlFromChallenge', async (t) => {
  t.equal(resourceMetadataUrlFromChallenge(null), undefined)
  t.equal(resourceMetadataUrlFromChallenge(undefined), undefined)
  t.equal(resourceMetadataUrlFromChallenge('Basic resource_metadata="https://x/"'), undefined)
  t.equal(resourceMetadataUrlFromChallenge('Bearer error="invalid_token"'), undefined)
  t.equal(
    resourceMetadataUrlFromChallenge('Bearer realm="a", bearer resource_metadata="https://x/m"'),
    'https://x/m',
  )
})

t.test('authorization server: locations in the MCP order', async (t) => {
  t.same(authorizationServerMetadataUrls('https://as.example.com').map(String), [
    'https://as.example.com/.well-known/oauth-authorization-server',
    'https://as.example.com/.well-known/openid-configuration',
  ])
  t.same(authorizationServerMetadataUrls('https://as.example.com/tenant/').map(String), [
    'https://as.example.com/.well-known/oauth-authorization-server/tenant',
    'https://as.example.com/.well-known/openid-configuration/tenant',
    'https://as.example.com/tenant/.well-known/openid-configuration',
  ])
})

t.test('authorization server: each location in turn; the issuer exactly', async (t) => {
  const s = await startServer(t)
  const issuer = `${s.origin}/tenant`
  const appended = '/tenant/.well-known/openid-configuration'
  s.route(appended, json(asMetadata(issuer)))
  const found = await discoverAuthorizationServerMetadata(issuer)
  t.equal(found.source, 'openid-configuration')
  t.equal(found.metadataUrl, `${s.origin}${appended}`)
  t.same(
    found.attempts.map((a) => a.outcome),
    ['not_found', 'not_found', 'found'],
  )
  t.equal(found.metadata.token_endpoint, `${issuer}/token`)

  s.route('/.well-known/oauth-authorization-server/tenant', json(asMetadata(issuer)))
  const first = await discoverAuthorizationServerMetadata(issuer)
  t.equal(first.source, 'oauth-authorization-server')

  // Mix-up defence: metadata naming another issuer is refused, and no other location is tried.
  s.route('/.well-known/oauth-authorization-server/tenant', json(asMetadata(`${s.origin}/other`)))
  const before = s.hits(appended).length
  await t.rejects(discoverAuthorizationServerMetadata(issuer), { code: 'ERR_ISSUER_MISMATCH' })
  t.equal(s.hits(appended).length, before)
  // No normalisation: a trailing slash is another issuer.
  s.route('/.well-known/oauth-authorization-server/tenant', json(asMetadata(`${issuer}/`)))
  await t.rejects(discoverAuthorizationServerMetadata(issuer), { code: 'ERR_ISSUER_MISMATCH' })
  s.route(
    '/.well-known/oauth-authorization-server/tenant',
    json({ ...asMetadata(issuer), issuer: undefined }),
  )
  await t.rejects(discoverAuthorizationServerMetadata(issuer), { code: 'ERR_ISSUER_MISMATCH' })

  for (const [field, value] of [
    ['token_endpoint', 'http://as.example.com/token'],
    ['authorization_endpoint', 'not a url'],
    ['grant_types_supported', 'client_credentials'],
    ['authorization_response_iss_parameter_supported', 'true'],
    ['client_id_metadata_document_supported', 1],
  ] as const) {
    s.route(
      '/.well-known/oauth-authorization-server/tenant',
      json(asMetadata(issuer, { [field]: value })),
    )
    t.equal(
      codeOf(await discoverAuthorizationServerMetadata(issuer).catch((e: unknown) => e)),
      'ERR_INVALID_RESPONSE',
      field,
    )
  }
  s.route('/.well-known/oauth-authorization-server/tenant', {
    status: 307,
    headers: { location: 'https://evil.example/' },
  })
  await t.rejects(discoverAuthorizationServerMetadata(issuer), { code: 'ERR_REDIRECT_REFUSED' })
  s.route('/.well-known/oauth-authorization-server/tenant', { status: 502 })
  await t.rejects(discoverAuthorizationServerMetadata(issuer), {
    code: 'ERR_UNEXPECTED_STATUS',
    status: 502,
  })
})

t.test('authorization server: none found; the legacy path', async (t) => {
  const s = await startServer(t)
  await t.rejects(discoverAuthorizationServerMetadata(s.origin), {
    code: 'ERR_AS_METADATA_NOT_FOUND',
  })
  const defaults = await discoverAuthorizationServerMetadata(s.origin, { legacy: true })
  t.equal(defaults.source, 'default-endpoints')
  t.same(defaults.metadata, {
    issuer: s.origin,
    authorization_endpoint: `${s.origin}/authorize`,
    token_endpoint: `${s.origin}/token`,
    registration_endpoint: `${s.origin}/register`,
    code_challenge_methods_supported: ['S256'],
  })
  // On the legacy path the issuer was derived, not advertised: the origin with a slash is it too.
  s.route('/.well-known/oauth-authorization-server', json(asMetadata(`${s.origin}/`)))
  const legacy = await discoverAuthorizationServerMetadata(s.origin, { legacy: true })
  t.equal(legacy.issuer, `${s.origin}/`)
  await t.rejects(discoverAuthorizationServerMetadata(s.origin), { code: 'ERR_ISSUER_MISMATCH' })
  s.route('/.well-known/oauth-authorization-server', json(asMetadata('https://evil.example')))
  await t.rejects(discoverAuthorizationServerMetadata(s.origin, { legacy: true }), {
    code: 'ERR_ISSUER_MISMATCH',
  })
  await t.rejects(discoverAuthorizationServerMetadata(s.origin, { legacy: 'yes' } as never), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
  t.equal(nock.pendingMocks().length, 0)
})

t.test('a custom fetch that ignores its signal is still bounded', async (t) => {
  const never: typeof fetch = () => new Promise(() => undefined)
  const started = process.hrtime.bigint()
  await t.rejects(
    discoverProtectedResource('http://127.0.0.1:9/mcp', { fetch: never, timeout: 20 }),
    {
      code: 'ERR_REQUEST_TIMEOUT',
    },
  )
  t.ok(process.hrtime.bigint() - started < 5_000_000_000n)
})
