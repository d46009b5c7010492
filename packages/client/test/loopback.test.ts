// A remote resource, or the authorization server it leads to, must not send the client into the
// machine it runs on: a URL learned from a server may point at a loopback host only when the URL
// the caller started from is on loopback itself. Every server here is a loopback test server; the
// remote-looking hosts (mcp.example.com, as.example.com) are routed to them by a `fetch` that
// records each URL before anything is sent, and a "victim" server on 127.0.0.1 records whatever
// reaches it.
import t, { type Test } from 'tap'
import {
  createAuthorizationRequest,
  createOAuthSession,
  discoverAuthorizationServerMetadata,
  discoverProtectedResource,
  followAuthorizationRedirects,
  isOAuthClientError,
  registerClient,
  requestClientCredentials,
  type OAuthClientError,
} from '../src/index.js'
import {
  asMetadata,
  json,
  loopbackOnly,
  routedFetch,
  startServer,
  type Recorded,
  type TestServer,
} from './fixtures/server.js'

loopbackOnly(t)

const RESOURCE = 'https://mcp.example.com/mcp'
const ISSUER = 'https://as.example.com'
const PRM_URL = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp'
const AS_URL = 'https://as.example.com/.well-known/oauth-authorization-server'
const LOOPBACK = 'points at a loopback host, which only a server on loopback may name'
const UNUSABLE = 'is not a usable URL'

/** Every spelling of this machine, with the end of the message that refuses it. */
function spellings(victim: TestServer): [string, string][] {
  const port = new URL(victim.origin).port
  return [
    [`${victim.origin}/x`, LOOPBACK],
    [`https://127.0.0.1:${port}/x`, LOOPBACK],
    [`http://127.1.2.3:${port}/x`, LOOPBACK],
    ['https://127.1.2.3/x', LOOPBACK],
    ['https://127.1/x', LOOPBACK],
    ['https://0x7f.0.0.1/x', LOOPBACK],
    ['https://2130706433/x', LOOPBACK],
    ['https://127.0.0.1./x', LOOPBACK],
    [`http://localhost:${port}/admin`, LOOPBACK],
    ['https://localhost/x', LOOPBACK],
    ['https://LOCALHOST./x', LOOPBACK],
    ['https://foo.localhost/x', LOOPBACK],
    ['https://a.b.localhost../x', LOOPBACK],
    [`http://[::1]:${port}/x`, LOOPBACK],
    ['https://[::1]/x', LOOPBACK],
    ['https://[0:0:0:0:0:0:0:1]/x', LOOPBACK],
    ['https://[::ffff:127.0.0.1]/x', LOOPBACK],
    ['https://[::FFFF:7F00:1]/x', LOOPBACK],
    ['https://[::ffff:127.9.9.9]:6379/x', LOOPBACK],
    ['https://[::127.0.0.1]/x', LOOPBACK],
    ['https://0.0.0.0/x', LOOPBACK],
    ['https://0/x', LOOPBACK],
    ['https://[::]/x', LOOPBACK],
    ['https://[::ffff:0.0.0.0]/x', LOOPBACK],
    // http to a host that core does not count as loopback is already refused as not https.
    ['http://foo.localhost/x', UNUSABLE],
    ['http://0.0.0.0/x', UNUSABLE],
    ['http://[::ffff:127.0.0.1]/x', UNUSABLE],
  ]
}

/** Hosts that only look like loopback: a remote resource may name them. */
const NOT_LOOPBACK = [
  'https://localhost.example.com/x',
  'https://mylocalhost/x',
  'https://127.example.com/x',
  'https://128.0.0.1/x',
  'https://[::ffff:10.0.0.1]/x',
  'https://[::1:0:0:1]/x',
  'https://[2001:db8::1]/x',
]

async function refusal(promise: Promise<unknown>): Promise<OAuthClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isOAuthClientError(error))
    throw new Error(`expected an OAuthClientError, got ${String(error)}`)
  return error
}

/** The victim: answers anything, so that a request reaching it would succeed, and records it. */
async function victim(t: Test): Promise<TestServer> {
  const v = await startServer(t)
  for (const path of [
    '/x',
    '/admin',
    '/token',
    '/register',
    '/.well-known/oauth-protected-resource',
  ])
    v.route(path, json({ access_token: 'stolen', token_type: 'Bearer', client_id: 'stolen' }))
  return v
}

/**
 * A remote resource and its remote authorization server, both served by one loopback server.
 * `prm` and `metadata` change what they publish; `urls` is emptied with each change.
 */
async function remoteWorld(t: Test) {
  const s = await startServer(t)
  const routed = routedFetch({ 'mcp.example.com': s, 'as.example.com': s })
  const prm = (extra: Record<string, unknown>): void => {
    routed.urls.length = 0
    s.route(
      '/.well-known/oauth-protected-resource/mcp',
      json({ resource: RESOURCE, authorization_servers: [ISSUER], ...extra }),
    )
  }
  const metadata = (extra: Record<string, unknown>): void => {
    routed.urls.length = 0
    s.route('/.well-known/oauth-authorization-server', json(asMetadata(ISSUER, extra)))
  }
  prm({})
  metadata({})
  s.route('/token', json({ access_token: 'at-1', token_type: 'Bearer', expires_in: 600 }))
  s.route('/register', json({ client_id: 'registered', token_endpoint_auth_method: 'none' }, 201))
  s.route('/mcp', (request: Recorded) =>
    request.headers.authorization === 'Bearer at-1'
      ? json({ ok: true })
      : {
          status: 401,
          headers: { 'www-authenticate': `Bearer resource_metadata="${PRM_URL}"` },
        },
  )
  return { s, ...routed, prm, metadata }
}

/** A confidential client with the client-credentials grant, on the remote-looking resource. */
function serviceSession(fetch: typeof globalThis.fetch) {
  return createOAuthSession({
    resource: RESOURCE,
    client: { clientId: 'svc', clientSecret: 'the-secret' },
    grant: { type: 'client_credentials' },
    fetch,
  })
}

t.test('the harness: a remote resource with a remote authorization server works', async (t) => {
  const v = await victim(t)
  const { s, fetch, urls } = await remoteWorld(t)
  const session = serviceSession(fetch)
  const response = await session.fetch(RESOURCE, { method: 'POST', body: '{}' })
  t.same(await response.json(), { ok: true })
  t.same(urls, [RESOURCE, PRM_URL, AS_URL, `${ISSUER}/token`, RESOURCE])
  t.equal(s.hits('/token')[0]?.form.get('resource'), RESOURCE)
  t.equal(v.requests.length, 0)
})

t.test('a challenge resource_metadata on loopback is refused before any request', async (t) => {
  const v = await victim(t)
  const { fetch, urls } = routedFetch({})
  for (const [url, refused] of spellings(v)) {
    const error = await refusal(
      discoverProtectedResource(RESOURCE, {
        wwwAuthenticate: `Bearer error="invalid_token", resource_metadata="${url}"`,
        fetch,
      }),
    )
    t.equal(error.code, 'ERR_INVALID_RESPONSE', url)
    t.equal(error.message, `WWW-Authenticate challenge: resource_metadata ${refused}`, url)
    t.equal(error.url, undefined, url)
  }
  t.same(urls, [])
  t.equal(v.requests.length, 0)
})

t.test('through the session: a 401 naming loopback metadata', async (t) => {
  const v = await victim(t)
  const s = await startServer(t)
  s.route('/mcp', {
    status: 401,
    headers: {
      'www-authenticate': `Bearer resource_metadata="${v.origin}/.well-known/oauth-protected-resource"`,
    },
  })
  const { fetch, urls } = routedFetch({ 'mcp.example.com': s })
  const session = serviceSession(fetch)
  const error = await refusal(session.fetch(RESOURCE, { method: 'POST', body: '{}' }))
  t.equal(error.code, 'ERR_INVALID_RESPONSE')
  t.equal(error.message, `WWW-Authenticate challenge: resource_metadata ${LOOPBACK}`)
  t.same(urls, [RESOURCE])
  t.equal(v.requests.length, 0)
})

t.test('an authorization server on loopback is refused, wherever it is listed', async (t) => {
  const v = await victim(t)
  const { fetch, urls, prm } = await remoteWorld(t)
  for (const [url, refused] of spellings(v)) {
    for (const servers of [[url], [ISSUER, url]]) {
      prm({ authorization_servers: servers })
      const error = await refusal(discoverProtectedResource(RESOURCE, { fetch }))
      t.equal(error.code, 'ERR_INVALID_RESPONSE', url)
      t.equal(
        error.message,
        `Protected resource metadata request: authorization_servers ${refused}`,
        url,
      )
      t.equal(error.url, PRM_URL, url)
      t.same(urls, [PRM_URL], url)
    }
  }
  // From the challenge's metadata URL too (on the resource's host, so not refused itself).
  prm({ authorization_servers: [`${v.origin}/x`] })
  const error = await refusal(
    discoverProtectedResource(RESOURCE, {
      wwwAuthenticate: `Bearer resource_metadata="${PRM_URL}"`,
      fetch,
    }),
  )
  t.equal(error.message, `Protected resource metadata request: authorization_servers ${LOOPBACK}`)
  t.same(urls, [PRM_URL])
  t.equal(v.requests.length, 0)
})

t.test('hosts that only look like loopback are not refused', async (t) => {
  const { fetch, prm } = await remoteWorld(t)
  prm({ authorization_servers: NOT_LOOPBACK })
  const found = await discoverProtectedResource(RESOURCE, { fetch })
  t.same(found.authorizationServers, NOT_LOOPBACK)
})

t.test('through the session: no request at all to a loopback authorization server', async (t) => {
  const v = await victim(t)
  const { fetch, urls, prm } = await remoteWorld(t)
  prm({ authorization_servers: [v.origin] })
  const session = serviceSession(fetch)
  const error = await refusal(session.fetch(RESOURCE, { method: 'POST', body: '{}' }))
  t.equal(error.code, 'ERR_INVALID_RESPONSE')
  t.equal(error.message, `Protected resource metadata request: authorization_servers ${LOOPBACK}`)
  t.same(urls, [RESOURCE, PRM_URL])
  t.equal(v.requests.length, 0)
})

const ENDPOINTS = [
  'authorization_endpoint',
  'token_endpoint',
  'registration_endpoint',
  'jwks_uri',
  'introspection_endpoint',
  'revocation_endpoint',
]

t.test('an endpoint on loopback in remote metadata is refused', async (t) => {
  const v = await victim(t)
  const { fetch, urls, metadata } = await remoteWorld(t)
  for (const field of ENDPOINTS) {
    for (const [url, refused] of spellings(v)) {
      metadata({ [field]: url })
      const error = await refusal(discoverAuthorizationServerMetadata(ISSUER, { fetch }))
      t.equal(error.code, 'ERR_INVALID_RESPONSE', `${field} ${url}`)
      t.equal(
        error.message,
        `Authorization server metadata request: ${field} ${refused}`,
        `${field} ${url}`,
      )
      t.equal(error.url, AS_URL, `${field} ${url}`)
      t.same(urls, [AS_URL], `${field} ${url}`)
    }
  }
  t.equal(v.requests.length, 0)
})

t.test('through the session: no credentials to a loopback token endpoint', async (t) => {
  const v = await victim(t)
  const { s, fetch, urls, metadata } = await remoteWorld(t)
  metadata({ token_endpoint: `${v.origin}/token` })
  const session = serviceSession(fetch)
  const error = await refusal(session.fetch(RESOURCE, { method: 'POST', body: '{}' }))
  t.equal(error.code, 'ERR_INVALID_RESPONSE')
  t.equal(error.message, `Authorization server metadata request: token_endpoint ${LOOPBACK}`)
  t.notMatch(error.message, /the-secret|127\.0\.0\.1/)
  t.same(urls, [RESOURCE, PRM_URL, AS_URL])
  t.equal(s.hits('/token').length, 0)
  t.equal(v.requests.length, 0)
})

t.test('through the session: no registration at a loopback endpoint', async (t) => {
  const v = await victim(t)
  const { fetch, urls, metadata } = await remoteWorld(t)
  metadata({ registration_endpoint: `http://localhost:${new URL(v.origin).port}/x` })
  const session = createOAuthSession({
    resource: RESOURCE,
    clientMetadata: { client_name: 'agent', grant_types: ['client_credentials'] },
    grant: { type: 'client_credentials' },
    fetch,
  })
  const error = await refusal(session.fetch(RESOURCE, { method: 'POST', body: '{}' }))
  t.equal(error.code, 'ERR_INVALID_RESPONSE')
  t.equal(error.message, `Authorization server metadata request: registration_endpoint ${LOOPBACK}`)
  t.same(urls, [RESOURCE, PRM_URL, AS_URL])
  t.equal(v.requests.length, 0)
})

t.test('metadata handed to a step: endpoints judged against its issuer', async (t) => {
  const v = await victim(t)
  const { fetch, urls } = routedFetch({})
  const client = { clientId: 'svc', clientSecret: 'the-secret' }
  const tokenError = await refusal(
    requestClientCredentials(
      {
        server: asMetadata(ISSUER, { token_endpoint: `${v.origin}/token` }) as never,
        client,
        fetch,
      },
      { resource: RESOURCE },
    ),
  )
  t.equal(tokenError.code, 'ERR_INVALID_RESPONSE')
  t.equal(tokenError.message, `Authorization server metadata: token_endpoint ${LOOPBACK}`)
  const registrationError = await refusal(
    registerClient(
      asMetadata(ISSUER, { registration_endpoint: `${v.origin}/register` }) as never,
      { client_name: 'agent' },
      { fetch },
    ),
  )
  t.equal(registrationError.code, 'ERR_INVALID_RESPONSE')
  t.equal(
    registrationError.message,
    `Authorization server metadata: registration_endpoint ${LOOPBACK}`,
  )
  let authorizationError: unknown
  try {
    createAuthorizationRequest({
      server: asMetadata(ISSUER, { authorization_endpoint: 'https://[::1]/authorize' }) as never,
      clientId: 'app',
      redirectUri: 'http://127.0.0.1:8976/callback',
      resource: RESOURCE,
    })
  } catch (e) {
    authorizationError = e
  }
  t.match(authorizationError, {
    code: 'ERR_INVALID_RESPONSE',
    message: `Authorization server metadata: authorization_endpoint ${LOOPBACK}`,
  })
  t.same(urls, [])
  t.equal(v.requests.length, 0)
})

t.test('automated redirects: a remote server cannot redirect into loopback', async (t) => {
  const v = await victim(t)
  const s = await startServer(t)
  let location = `${v.origin}/admin`
  s.route('/authorize', () => ({ status: 302, headers: { location } }))
  const { fetch, urls } = routedFetch({ 'as.example.com': s })
  const redirectUri = 'http://127.0.0.1:8976/callback'
  const error = await refusal(
    followAuthorizationRedirects(`${ISSUER}/authorize?client_id=app`, { redirectUri, fetch }),
  )
  t.equal(error.code, 'ERR_INVALID_RESPONSE')
  t.equal(error.message, `Authorization redirect: Location ${LOOPBACK}`)
  t.same(urls, [`${ISSUER}/authorize?client_id=app`])
  t.equal(v.requests.length, 0)

  // The redirect URI itself is on loopback, and is returned without being requested.
  location = `${redirectUri}?code=c&state=s`
  const callback = await followAuthorizationRedirects(`${ISSUER}/authorize`, {
    redirectUri,
    fetch,
  })
  t.equal(callback.href, location)
})

t.test('local development: a loopback resource may name loopback servers', async (t) => {
  const as = await startServer(t)
  const mcp = await startServer(t)
  const resource = `${mcp.origin}/mcp`
  mcp.route(
    '/.well-known/oauth-protected-resource/mcp',
    json({ resource, authorization_servers: [as.origin] }),
  )
  mcp.route('/mcp', (request: Recorded) =>
    request.headers.authorization === 'Bearer at-1'
      ? json({ ok: true })
      : {
          status: 401,
          headers: {
            'www-authenticate': `Bearer resource_metadata="${mcp.origin}/.well-known/oauth-protected-resource/mcp"`,
          },
        },
  )
  as.route('/.well-known/oauth-authorization-server', json(asMetadata(as.origin)))
  as.route('/token', json({ access_token: 'at-1', token_type: 'Bearer', expires_in: 600 }))
  const session = createOAuthSession({
    resource,
    client: { clientId: 'svc', clientSecret: 'the-secret' },
    grant: { type: 'client_credentials' },
  })
  const response = await session.fetch(resource, { method: 'POST', body: '{}' })
  t.same(await response.json(), { ok: true })
  t.equal(as.hits('/token').length, 1)

  // Any spelling of loopback counts on either side: a resource on localhost naming 127.0.0.1,
  // an issuer on 127.0.0.1 naming endpoints on localhost and [::1].
  const { fetch } = routedFetch({ 'localhost:4000': mcp })
  const local = 'http://localhost:4000/mcp'
  mcp.route(
    '/.well-known/oauth-protected-resource/mcp',
    json({ resource: local, authorization_servers: [as.origin, 'http://[::1]:9000'] }),
  )
  const found = await discoverProtectedResource(local, { fetch })
  t.same(found.authorizationServers, [as.origin, 'http://[::1]:9000'])
  as.route(
    '/.well-known/oauth-authorization-server',
    json(asMetadata(as.origin, { token_endpoint: 'http://localhost:4000/token' })),
  )
  const { metadata } = await discoverAuthorizationServerMetadata(as.origin)
  t.equal(metadata.token_endpoint, 'http://localhost:4000/token')
})
