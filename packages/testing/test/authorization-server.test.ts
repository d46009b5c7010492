import { discoverAuthorizationServer, fetchJson } from '@bearerkit/core'
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  type JWTPayload,
} from 'jose'
import t from 'tap'
import {
  createLocalAuthorizationServer,
  createToken,
  generateKeyPair,
  type LocalAuthorizationServer,
  type LocalAuthorizationServerOptions,
} from '../src/index.js'
import { basic, getJson, manualClock, postForm } from './fixtures/oauth.js'

const RESOURCE = 'http://127.0.0.1:3000/mcp'

async function start(
  t: { teardown: (fn: () => unknown) => void },
  options: LocalAuthorizationServerOptions = {},
): Promise<LocalAuthorizationServer> {
  const as = await createLocalAuthorizationServer(options)
  t.teardown(() => as.close())
  return as
}

async function requestToken(
  as: LocalAuthorizationServer,
  params: Record<string, string | string[]> = {},
  authorization = basic('test-client', 'test-secret'),
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await postForm(
    as.tokenEndpoint,
    { grant_type: 'client_credentials', resource: RESOURCE, ...params },
    { authorization },
  )
  return { ...response, body: response.body as Record<string, unknown> }
}

async function introspect(
  as: LocalAuthorizationServer,
  token: string,
  authorization = basic('test-client', 'test-secret'),
): Promise<Record<string, unknown>> {
  const response = await postForm(as.introspectionEndpoint, { token }, { authorization })
  if (response.status !== 200) throw new Error(`introspection answered ${response.status}`)
  return response.body as Record<string, unknown>
}

t.test('serves RFC 8414 metadata that core discovery accepts', async (t) => {
  const as = await start(t, { scopesSupported: ['files:read', 'files:write'] })
  t.match(as.issuer, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.equal(as.issuer, `http://127.0.0.1:${as.port}`)
  t.equal(as.origin, as.issuer)
  t.equal(as.metadataUrl, `${as.issuer}/.well-known/oauth-authorization-server`)
  t.equal(as.openidConfigurationUrl, `${as.issuer}/.well-known/openid-configuration`)
  const { status, headers, body } = await getJson(as.metadataUrl)
  t.equal(status, 200)
  t.equal(headers.get('content-type'), 'application/json')
  t.same(body, {
    issuer: as.issuer,
    token_endpoint: `${as.issuer}/token`,
    jwks_uri: `${as.issuer}/jwks`,
    scopes_supported: ['files:read', 'files:write'],
    response_types_supported: [],
    authorization_response_iss_parameter_supported: true,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    introspection_endpoint: `${as.issuer}/introspect`,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint: `${as.issuer}/revoke`,
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
  })
  t.same(as.metadata, body)
  t.same((await getJson(as.openidConfigurationUrl)).body, body)
  t.same(await discoverAuthorizationServer(as.issuer), body)
  t.same([as.jwksUri, as.tokenEndpoint], [`${as.issuer}/jwks`, `${as.issuer}/token`])
  t.same(
    [as.introspectionEndpoint, as.revocationEndpoint],
    [`${as.issuer}/introspect`, `${as.issuer}/revoke`],
  )
  t.same(as.counts, {
    metadata: 2,
    'openid-configuration': 1,
    jwks: 0,
    token: 0,
    introspection: 0,
    revocation: 0,
    other: 0,
  })
})

t.test('an issuer with a path places metadata as RFC 8414 §3.1 says', async (t) => {
  const as = await start(t, { path: '/tenant-a' })
  t.equal(as.issuer, `${as.origin}/tenant-a`)
  t.equal(as.metadataUrl, `${as.origin}/.well-known/oauth-authorization-server/tenant-a`)
  t.equal(as.openidConfigurationUrl, `${as.origin}/tenant-a/.well-known/openid-configuration`)
  const metadata = await discoverAuthorizationServer(as.issuer)
  t.equal(metadata.jwks_uri, `${as.origin}/tenant-a/jwks`)
  t.equal(metadata.token_endpoint, `${as.origin}/tenant-a/token`)
  // With the RFC 8414 document gone, discovery falls back to the OpenID one.
  as.setFault('metadata', { type: 'status', status: 404 })
  t.equal((await discoverAuthorizationServer(as.issuer)).issuer, as.issuer)
  t.equal(as.requestCount('openid-configuration'), 1)
  t.equal((await getJson(`${as.origin}/.well-known/oauth-authorization-server`)).status, 404)
  t.equal(as.requestCount('other'), 1)
})

t.test('wrong methods and unknown paths', async (t) => {
  const as = await start(t)
  const post = await fetch(as.jwksUri, { method: 'POST' })
  t.equal(post.status, 405)
  t.equal(post.headers.get('allow'), 'GET, HEAD')
  t.match(await post.json(), { error: 'invalid_request' })
  const get = await fetch(as.tokenEndpoint)
  t.equal(get.status, 405)
  t.equal(get.headers.get('allow'), 'POST')
  await get.body?.cancel()
  const metadataPut = await fetch(as.metadataUrl, { method: 'PUT' })
  t.equal(metadataPut.status, 405)
  await metadataPut.body?.cancel()
  // HEAD is GET without a body.
  const head = await fetch(as.jwksUri, { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.headers.get('content-type'), 'application/json')
  t.equal(Number(head.headers.get('content-length')), JSON.stringify(as.jwks()).length)
  t.equal(await head.text(), '')
  for (const path of [
    '/',
    '/jwks/',
    '/token?x=1/..',
    '/.well-known/oauth-authorization-server/x',
  ]) {
    const response = await fetch(`${as.origin}${path}`)
    t.equal(response.status, path === '/token?x=1/..' ? 405 : 404, path)
    await response.body?.cancel()
  }
  t.equal(as.requestCount('other'), 3)
  t.equal(as.requestCount('token'), 2)
  t.equal(as.requestCount('jwks'), 2)
})

t.test('client_credentials with client_secret_basic issues an RFC 9068 JWT', async (t) => {
  const clock = manualClock()
  const as = await start(t, { now: clock.now, accessTokenTtl: 600 })
  const { status, headers, body } = await requestToken(as, { scope: 'files:read files:write' })
  t.equal(status, 200)
  t.equal(headers.get('cache-control'), 'no-store')
  t.equal(headers.get('pragma'), 'no-cache')
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'])
  t.match(body, { token_type: 'Bearer', expires_in: 600, scope: 'files:read files:write' })
  const token = body.access_token as string
  t.same(decodeProtectedHeader(token), { alg: 'RS256', typ: 'at+jwt', kid: as.signingKey.kid })
  // Verified with jose against the JWKS the server serves.
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(as.jwksUri)), {
    issuer: as.issuer,
    audience: RESOURCE,
    typ: 'at+jwt',
    algorithms: ['RS256'],
    requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id'],
    currentDate: new Date(clock.now()),
  })
  t.match(payload, {
    iss: as.issuer,
    sub: 'test-client',
    aud: RESOURCE,
    client_id: 'test-client',
    scope: 'files:read files:write',
    iat: 1_800_000_000,
    exp: 1_800_000_600,
  })
  t.equal(as.requestCount('jwks'), 1)
  t.equal(as.requestCount('token'), 1)
})

t.test('client_secret_post, several resources, default scopes and default resource', async (t) => {
  const as = await start(t, {
    algorithm: 'ES256',
    defaultResource: RESOURCE,
    clients: [
      {
        clientId: 'svc',
        clientSecret: 's3cret',
        defaultScopes: ['a', 'b'],
        scopes: ['a', 'b', 'c'],
      },
    ],
  })
  const response = await postForm(as.tokenEndpoint, {
    grant_type: 'client_credentials',
    client_id: 'svc',
    client_secret: 's3cret',
    resource: ['https://one.example/api', 'https://two.example/api', 'https://one.example/api'],
  })
  t.equal(response.status, 200)
  const body = response.body as Record<string, string>
  t.equal(body.scope, 'a b')
  const token = body.access_token as string
  t.equal(decodeProtectedHeader(token).alg, 'ES256')
  t.same(decodeJwt(token).aud, ['https://one.example/api', 'https://two.example/api'])
  // No resource: the default one; no scope claim when nothing is granted.
  const second = await postForm(as.tokenEndpoint, {
    grant_type: 'client_credentials',
    client_id: 'svc',
    client_secret: 's3cret',
    scope: 'c c',
  })
  t.equal((second.body as Record<string, string>).scope, 'c')
  t.equal(decodeJwt((second.body as Record<string, string>).access_token as string).aud, RESOURCE)
})

t.test(
  'credentials with reserved characters are form-encoded in Basic (RFC 6749 §2.3.1)',
  async (t) => {
    const as = await start(t, {
      clients: [{ clientId: 'id with+plus', clientSecret: 'p@ss:w%rd é' }],
    })
    const ok = await requestToken(as, {}, basic('id with+plus', 'p@ss:w%rd é'))
    t.equal(ok.status, 200)
    t.equal(decodeJwt(ok.body.access_token as string).client_id, 'id with+plus')
    // The same credentials without the form-encoding step do not authenticate.
    const raw = `Basic ${Buffer.from('id with+plus:p@ss:w%rd é').toString('base64')}`
    t.equal((await requestToken(as, {}, raw)).status, 401)
  },
)

t.test('token endpoint errors are the RFC 6749 §5.2 ones', async (t) => {
  const as = await start(t, {
    clients: [
      { clientId: 'test-client', clientSecret: 'test-secret', scopes: ['files:read'] },
      { clientId: 'basic-only', clientSecret: 'x', authMethods: ['client_secret_basic'] },
    ],
    resources: [RESOURCE, 'https://other.example/api'],
  })
  const good = basic('test-client', 'test-secret')
  const cases: Array<{
    name: string
    params?: Record<string, string | string[]>
    body?: string
    auth?: string
    contentType?: string
    status: number
    error: string
  }> = [
    {
      name: 'wrong secret',
      auth: basic('test-client', 'nope'),
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'unknown client',
      auth: basic('ghost', 'test-secret'),
      status: 401,
      error: 'invalid_client',
    },
    { name: 'no credentials', auth: '', status: 401, error: 'invalid_client' },
    { name: 'other scheme', auth: 'Bearer abc', status: 401, error: 'invalid_client' },
    {
      name: 'Basic without colon',
      auth: `Basic ${Buffer.from('abc').toString('base64')}`,
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'Basic with bad escapes',
      auth: `Basic ${Buffer.from('%E0%A4%A:x').toString('base64')}`,
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'secret in body too',
      params: { client_secret: 'test-secret' },
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'client_id mismatch',
      params: { client_id: 'other' },
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'post without secret',
      auth: '',
      params: { client_id: 'test-client' },
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'method not allowed for client',
      auth: '',
      params: { client_id: 'basic-only', client_secret: 'x' },
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'missing grant_type',
      params: { grant_type: [] },
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'password grant',
      params: { grant_type: 'password' },
      status: 400,
      error: 'unsupported_grant_type',
    },
    {
      name: 'repeated grant_type',
      params: { grant_type: ['client_credentials', 'client_credentials'] },
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'scope not allowed',
      params: { scope: 'files:read admin' },
      status: 400,
      error: 'invalid_scope',
    },
    {
      name: 'malformed scope',
      params: { scope: 'files:read  files:read' },
      status: 400,
      error: 'invalid_scope',
    },
    { name: 'scope with quote', params: { scope: 'a"b' }, status: 400, error: 'invalid_scope' },
    {
      name: 'resource with fragment',
      params: { resource: `${RESOURCE}#frag` },
      status: 400,
      error: 'invalid_target',
    },
    {
      name: 'relative resource',
      params: { resource: '/mcp' },
      status: 400,
      error: 'invalid_target',
    },
    {
      name: 'unknown resource',
      params: { resource: 'https://evil.example/api' },
      status: 400,
      error: 'invalid_target',
    },
    {
      name: 'no resource for a JWT',
      params: { resource: [] },
      status: 400,
      error: 'invalid_target',
    },
    {
      name: 'JSON body',
      body: '{"grant_type":"client_credentials"}',
      contentType: 'application/json',
      status: 400,
      error: 'invalid_request',
    },
  ]
  for (const c of cases) {
    const params: Record<string, string | string[]> = {
      grant_type: 'client_credentials',
      resource: RESOURCE,
      ...c.params,
    }
    const response = await postForm(as.tokenEndpoint, c.body ?? params, {
      ...(c.auth === '' ? {} : { authorization: c.auth ?? good }),
      ...(c.contentType === undefined ? {} : { contentType: c.contentType }),
    })
    t.equal(response.status, c.status, `${c.name}: status`)
    t.match(response.body, { error: c.error, error_description: String }, `${c.name}: error`)
    t.equal(response.headers.get('cache-control'), 'no-store', `${c.name}: no-store`)
    if (c.status === 401) {
      t.equal(
        response.headers.get('www-authenticate'),
        `Basic realm="${as.issuer}", charset="UTF-8"`,
        `${c.name}: challenge`,
      )
    }
  }
  // A body over 64 KiB is refused before it is parsed.
  const huge = await postForm(
    as.tokenEndpoint,
    `grant_type=client_credentials&x=${'a'.repeat(70_000)}`,
    {
      authorization: good,
    },
  )
  t.equal(huge.status, 413)
  t.match(huge.body, { error: 'invalid_request' })
  // The second resource of the allow-list is fine, and the endpoint still works.
  const ok = await requestToken(as, { resource: 'https://other.example/api' })
  t.equal(ok.status, 200)
})

t.test('opaque tokens, per client or per server, introspect as active', async (t) => {
  const clock = manualClock()
  const as = await start(t, {
    now: clock.now,
    clients: [
      { clientId: 'test-client', clientSecret: 'test-secret' },
      { clientId: 'opaque-client', clientSecret: 'o', tokenFormat: 'opaque' },
    ],
  })
  const response = await postForm(
    as.tokenEndpoint,
    { grant_type: 'client_credentials', scope: 'read' },
    { authorization: basic('opaque-client', 'o') },
  )
  t.equal(response.status, 200)
  const token = (response.body as Record<string, string>).access_token as string
  t.match(token, /^[A-Za-z0-9_-]{43}$/)
  const answer = await introspect(as, token)
  t.match(answer, { jti: /^[0-9a-f-]{36}$/ })
  t.same(answer, {
    iss: as.issuer,
    sub: 'opaque-client',
    exp: 1_800_003_600,
    iat: 1_800_000_000,
    jti: answer.jti,
    client_id: 'opaque-client',
    scope: 'read',
    token_type: 'Bearer',
    active: true,
  })
  const opaqueServer = await start(t, { tokenFormat: 'opaque' })
  const other = await opaqueServer.issueToken()
  t.notMatch(other, /\./)
})

t.test(
  'introspection answers per RFC 7662 for active, revoked, expired and unknown tokens',
  async (t) => {
    const clock = manualClock()
    const as = await start(t, { now: clock.now, defaultResource: RESOURCE })
    const token = await as.issueToken({
      subject: 'alice',
      scopes: ['files:read'],
      claims: { tenant: 'acme', iss: 'ignored' },
    })
    const active = await introspect(as, token)
    t.same(active, {
      tenant: 'acme',
      iss: as.issuer,
      sub: 'alice',
      aud: RESOURCE,
      exp: 1_800_003_600,
      iat: 1_800_000_000,
      jti: decodeJwt(token).jti,
      client_id: 'test-client',
      scope: 'files:read',
      token_type: 'Bearer',
      active: true,
    })
    // client_secret_post works too, and token_type_hint is accepted and ignored.
    const viaPost = await postForm(as.introspectionEndpoint, {
      token,
      token_type_hint: 'refresh_token',
      client_id: 'test-client',
      client_secret: 'test-secret',
    })
    t.match(viaPost.body, { active: true })
    t.equal(viaPost.headers.get('cache-control'), 'no-store')

    t.same(await introspect(as, 'never-issued'), { active: false })
    t.same(await introspect(as, 'a.b.c'), { active: false })

    // Expiry follows the injected clock: active one second before exp, inactive at exp.
    clock.advance(3599)
    t.match(await introspect(as, token), { active: true })
    clock.advance(1)
    t.same(await introspect(as, token), { active: false })

    // Revoked.
    const revoked = await as.issueToken({ format: 'opaque' })
    t.equal(as.revokeToken(revoked), true)
    t.equal(as.revokeToken('never-issued'), false)
    t.same(await introspect(as, revoked), { active: false })

    // Not yet valid (nbf ahead of the clock) and issued in the future are inactive too.
    const notYet = await as.issueToken({ claims: { nbf: Math.floor(clock.now() / 1000) + 60 } })
    t.same(await introspect(as, notYet), { active: false })
  },
)

t.test('introspection knows JWTs signed with its key but never issued through it', async (t) => {
  const clock = manualClock()
  const as = await start(t, { now: clock.now })
  const minted = await createToken({
    key: as.signingKey,
    issuer: as.issuer,
    audience: [RESOURCE, 'https://b.example'],
    scopes: ['x'],
    clientId: 'minted',
    subject: null,
    iat: null,
    jti: null,
    claims: { extra: true },
    now: clock.now,
  })
  t.same(await introspect(as, minted), {
    extra: true,
    iss: as.issuer,
    sub: 'minted',
    aud: [RESOURCE, 'https://b.example'],
    exp: 1_800_003_600,
    client_id: 'minted',
    scope: 'x',
    token_type: 'Bearer',
    active: true,
  })
  // Without aud, the answer has none either.
  const noAudience = await createToken({
    key: as.signingKey,
    issuer: as.issuer,
    audience: null,
    now: clock.now,
  })
  const answer = await introspect(as, noAudience)
  t.match(answer, { active: true, client_id: 'test-client' })
  t.notOk('aud' in answer)
  // Same key, another issuer; another key; no client_id; an unparsable aud: all unknown.
  const stranger = await generateKeyPair('RS256')
  for (const token of [
    await createToken({ key: as.signingKey, issuer: 'https://elsewhere.example', now: clock.now }),
    await createToken({ key: stranger, issuer: as.issuer, now: clock.now }),
    await createToken({ key: as.signingKey, issuer: as.issuer, clientId: null, now: clock.now }),
    await createToken({ key: as.signingKey, issuer: as.issuer, expiresIn: null, now: clock.now }),
    await createToken({
      key: as.signingKey,
      issuer: as.issuer,
      claims: { aud: 5 },
      now: clock.now,
    }),
  ]) {
    t.same(await introspect(as, token), { active: false })
  }
})

t.test('introspection requires client authentication and a token', async (t) => {
  const as = await start(t)
  const token = await as.issueToken({ audience: RESOURCE })
  for (const authorization of [basic('test-client', 'wrong'), basic('nobody', 'x')]) {
    const response = await postForm(as.introspectionEndpoint, { token }, { authorization })
    t.equal(response.status, 401)
    t.same(response.body, {
      error: 'invalid_client',
      error_description: 'Client authentication failed',
    })
    t.match(response.headers.get('www-authenticate'), /^Basic realm=/)
  }
  const anonymous = await postForm(as.introspectionEndpoint, { token })
  t.equal(anonymous.status, 401)
  t.match(anonymous.body, { error: 'invalid_client' })
  const missing = await postForm(
    as.introspectionEndpoint,
    {},
    { authorization: basic('test-client', 'test-secret') },
  )
  t.equal(missing.status, 400)
  t.match(missing.body, { error: 'invalid_request' })
  const empty = await postForm(
    as.introspectionEndpoint,
    { token: '' },
    { authorization: basic('test-client', 'test-secret') },
  )
  t.equal(empty.status, 400)
  const twice = await postForm(
    as.introspectionEndpoint,
    { token: [token, token] },
    { authorization: basic('test-client', 'test-secret') },
  )
  t.equal(twice.status, 400)
  const json = await postForm(as.introspectionEndpoint, JSON.stringify({ token }), {
    authorization: basic('test-client', 'test-secret'),
    contentType: 'application/json',
  })
  t.equal(json.status, 400)
  const get = await fetch(as.introspectionEndpoint)
  t.equal(get.status, 405)
  await get.body?.cancel()
  // No content type at all.
  const untyped = await fetch(as.introspectionEndpoint, {
    method: 'POST',
    headers: { authorization: basic('test-client', 'test-secret') },
    body: new TextEncoder().encode(`token=${token}`),
  })
  t.equal(untyped.status, 400)
  t.match(await untyped.json(), { error: 'invalid_request' })
  t.equal(as.requestCount('introspection'), 9)
})

t.test('revocation per RFC 7009', async (t) => {
  const as = await start(t, {
    defaultResource: RESOURCE,
    clients: [
      { clientId: 'test-client', clientSecret: 'test-secret' },
      { clientId: 'other', clientSecret: 'other-secret' },
    ],
  })
  const owner = basic('test-client', 'test-secret')
  const token = await as.issueToken()
  // Another client may not revoke it.
  const foreign = await postForm(
    as.revocationEndpoint,
    { token },
    { authorization: basic('other', 'other-secret') },
  )
  t.equal(foreign.status, 400)
  t.match(foreign.body, { error: 'invalid_request' })
  t.match(await introspect(as, token), { active: true })
  // The owner may, with any hint; the answer is an empty 200.
  const revoked = await postForm(
    as.revocationEndpoint,
    { token, token_type_hint: 'access_token' },
    { authorization: owner },
  )
  t.equal(revoked.status, 200)
  t.equal(revoked.text, '')
  t.same(await introspect(as, token), { active: false })
  // Revoking again, or a token never issued, is still 200 (RFC 7009 §2.2).
  t.equal((await postForm(as.revocationEndpoint, { token }, { authorization: owner })).status, 200)
  t.equal(
    (await postForm(as.revocationEndpoint, { token: 'unknown' }, { authorization: owner })).status,
    200,
  )
  // Missing token, bad credentials, wrong method.
  t.equal((await postForm(as.revocationEndpoint, {}, { authorization: owner })).status, 400)
  const bad = await postForm(
    as.revocationEndpoint,
    { token },
    { authorization: basic('test-client', 'x') },
  )
  t.equal(bad.status, 401)
  t.match(bad.body, { error: 'invalid_client' })
  t.equal(
    (
      await postForm(as.revocationEndpoint, 'token=x', {
        contentType: 'text/plain',
        authorization: owner,
      })
    ).status,
    400,
  )
  const get = await fetch(as.revocationEndpoint)
  t.equal(get.status, 405)
  await get.body?.cancel()
  // A JWT signed by the server's key but never issued through it can be revoked by its client.
  const minted = await createToken({ key: as.signingKey, issuer: as.issuer, clientId: 'other' })
  t.equal(
    (
      await postForm(
        as.revocationEndpoint,
        { token: minted },
        { authorization: basic('other', 'other-secret') },
      )
    ).status,
    200,
  )
  t.same(await introspect(as, minted), { active: false })
  t.equal(as.requestCount('revocation'), 9)
})

t.test('key rotation changes the JWKS, keeping or dropping the old key', async (t) => {
  const clock = manualClock()
  const as = await start(t, { now: clock.now, defaultResource: RESOURCE })
  const verify = (token: string): Promise<{ payload: JWTPayload }> =>
    jwtVerify(token, createLocalJWKSet(as.jwks()), {
      issuer: as.issuer,
      audience: RESOURCE,
      currentDate: new Date(clock.now()),
    })
  const first = as.signingKey
  const before = await as.issueToken()
  t.same((await getJson(as.jwksUri)).body, { keys: [first.publicJwk] })

  const second = await as.rotateKeys()
  t.not(second.kid, first.kid)
  t.equal(as.signingKey, second)
  t.same(
    as.keys.map((k) => k.kid),
    [second.kid, first.kid],
  )
  t.same((await getJson(as.jwksUri)).body, { keys: [second.publicJwk, first.publicJwk] })
  const after = await as.issueToken()
  t.equal(decodeProtectedHeader(after).kid, second.kid)
  await t.resolves(verify(before), 'old tokens still verify while the old key is served')
  await t.resolves(verify(after))

  const third = await as.rotateKeys({ keepOld: false, alg: 'EdDSA' })
  t.equal(third.alg, 'EdDSA')
  t.same((await getJson(as.jwksUri)).body, { keys: [third.publicJwk] })
  await t.rejects(verify(before), { code: 'ERR_JWKS_NO_MATCHING_KEY' })
  await t.rejects(verify(after), { code: 'ERR_JWKS_NO_MATCHING_KEY' })
  t.equal(decodeProtectedHeader(await as.issueToken()).alg, 'EdDSA')

  // A given key, and rotating to a key already served moves it to the front without a duplicate.
  const given = await generateKeyPair('ES384', { kid: 'given' })
  t.equal(await as.rotateKeys({ key: given }), given)
  t.same(
    as.keys.map((k) => k.kid),
    ['given', third.kid],
  )
  await as.rotateKeys({ key: third })
  t.same(
    as.keys.map((k) => k.kid),
    [third.kid, 'given'],
  )
  t.equal(as.requestCount('jwks'), 3)
})

t.test('initial keys and issueToken options', async (t) => {
  const clock = manualClock()
  const signing = await generateKeyPair('PS256', { kid: 'ps' })
  const spare = await generateKeyPair('ES256', { kid: 'es' })
  const as = await start(t, { keys: [signing, spare], now: clock.now, accessTokenTtl: 100 })
  t.same(
    as.jwks().keys.map((k) => k.kid),
    ['ps', 'es'],
  )
  t.same(as.clients, [{ clientId: 'test-client', clientSecret: 'test-secret' }])
  const token = await as.issueToken({
    clientId: 'unregistered',
    scopes: 'b a b',
    audience: ['x:y', 'urn:z'],
    expiresIn: 30,
    format: 'jwt',
  })
  t.equal(decodeProtectedHeader(token).kid, 'ps')
  t.match(decodeJwt(token), {
    sub: 'unregistered',
    client_id: 'unregistered',
    scope: 'b a',
    aud: ['x:y', 'urn:z'],
    exp: 1_800_000_030,
  })
  t.notOk('aud' in decodeJwt(await as.issueToken()), 'no audience without defaultResource')
  t.equal(decodeJwt(await as.issueToken()).exp, 1_800_000_100)
  t.match(await introspect(as, await as.issueToken({ expiresIn: -1 })), { active: false })
  const errors: Array<[Parameters<LocalAuthorizationServer['issueToken']>[0], RegExp]> = [
    [{ clientId: '' }, /^options\.clientId /],
    [{ scopes: ['a b'] }, /^options\.scopes /],
    [{ audience: 5 as unknown as string }, /^options\.audience /],
    [{ format: 'paseto' as 'jwt' }, /^options\.format /],
    [{ expiresIn: Number.NaN }, /^options\.expiresIn /],
  ]
  for (const [options, message] of errors) {
    t.throws(() => as.issueToken(options), { code: 'ERR_INVALID_ARG_VALUE', message })
  }
  await t.rejects(as.rotateKeys({ alg: 'HS256' as 'RS256' }), { message: /^options\.alg / })
  await t.rejects(as.rotateKeys({ key: {} as never }), { message: /^options\.key / })
})

t.test('options are checked up front', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /^options must be an object/],
    [{ host: '0.0.0.0' }, /^options\.host must be 127\.0\.0\.1 or ::1/],
    [{ port: -1 }, /^options\.port /],
    [{ port: 70000 }, /^options\.port /],
    [{ path: 'tenant' }, /^options\.path /],
    [{ path: '/tenant/' }, /^options\.path /],
    [{ algorithm: 'HS256' }, /^options\.algorithm /],
    [{ keys: [] }, /^options\.keys /],
    [{ keys: [{}] }, /^options\.keys /],
    [{ clients: [] }, /^options\.clients must be a non-empty array/],
    [{ clients: [null] }, /^options\.clients\[0\] must be an object/],
    [{ clients: [{ clientId: 'a:b', clientSecret: 's' }] }, /^options\.clients\[0\]\.clientId /],
    [
      {
        clients: [
          { clientId: 'a', clientSecret: 's' },
          { clientId: 'a', clientSecret: 't' },
        ],
      },
      /^options\.clients\[1\]\.clientId is registered twice/,
    ],
    [{ clients: [{ clientId: 'a', clientSecret: '' }] }, /^options\.clients\[0\]\.clientSecret /],
    [{ clients: [{ clientId: 'a', clientSecret: 's', authMethods: [] }] }, /\.authMethods /],
    [
      { clients: [{ clientId: 'a', clientSecret: 's', authMethods: ['private_key_jwt'] }] },
      /\.authMethods /,
    ],
    [
      { clients: [{ clientId: 'a', clientSecret: 's', scopes: ['a b'] }] },
      /\.scopes must be an array of scope tokens/,
    ],
    [{ clients: [{ clientId: 'a', clientSecret: 's', defaultScopes: 'a' }] }, /\.defaultScopes /],
    [{ clients: [{ clientId: 'a', clientSecret: 's', tokenFormat: 'x' }] }, /\.tokenFormat /],
    [{ tokenFormat: 'x' }, /^options\.tokenFormat /],
    [{ accessTokenTtl: 0 }, /^options\.accessTokenTtl /],
    [{ resources: 'https://a' }, /^options\.resources /],
    [{ resources: ['https://a#b'] }, /^options\.resources\[0\] must be an absolute URI/],
    [{ defaultResource: 'relative' }, /^options\.defaultResource /],
    [{ scopesSupported: [''] }, /^options\.scopesSupported /],
    [{ now: 1 }, /^options\.now /],
  ]
  for (const [options, message] of cases) {
    await t.rejects(
      createLocalAuthorizationServer(options as LocalAuthorizationServerOptions),
      { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message },
      String(message),
    )
  }
})

t.test('listens on ::1 when asked', async (t) => {
  let as: LocalAuthorizationServer
  try {
    as = await createLocalAuthorizationServer({ host: '::1' })
  } catch (error) {
    t.plan(0, `IPv6 loopback unavailable: ${String((error as NodeJS.ErrnoException).code)}`)
    return
  }
  t.teardown(() => as.close())
  t.equal(as.issuer, `http://[::1]:${as.port}`)
  t.match(await fetchJson(as.metadataUrl, 'metadata'), { issuer: as.issuer })
})
