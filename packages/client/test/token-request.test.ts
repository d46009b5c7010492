import { generateKeyPairSync, webcrypto } from 'node:crypto'
import { inspect } from 'node:util'
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose'
import t, { type Test } from 'tap'
import {
  JWT_BEARER_GRANT,
  TOKEN_EXCHANGE_GRANT,
  TOKEN_TYPES,
  exchangeAuthorizationCode,
  exchangeToken,
  refreshAccessToken,
  requestClientCredentials,
  requestJwtBearer,
  requestToken,
  type TokenEndpointContext,
} from '../src/index.js'
import { asMetadata, json, loopbackOnly, startServer, type TestServer } from './fixtures/server.js'

loopbackOnly(t)

const RESOURCE = 'https://mcp.example.com/mcp'
const NOW = 1_800_000_000_000
const ok = (extra: Record<string, unknown> = {}) =>
  json({ access_token: 'at-1', token_type: 'Bearer', expires_in: 300, ...extra }, 200, {
    'cache-control': 'no-store',
  })

async function setup(t: Test): Promise<{ s: TestServer; context: TokenEndpointContext }> {
  const s = await startServer(t)
  s.route('/token', ok())
  return {
    s,
    context: {
      server: asMetadata(s.origin) as never,
      client: { clientId: 'app', clientSecret: 's3cret' },
      now: () => NOW,
    },
  }
}

t.test('client credentials with client_secret_basic: the exact request', async (t) => {
  const { s, context } = await setup(t)
  const tokens = await requestClientCredentials(context, {
    resource: RESOURCE,
    scope: 'mcp:tools mcp:admin',
  })
  t.same(tokens, {
    accessToken: 'at-1',
    tokenType: 'Bearer',
    expiresAt: NOW / 1000 + 300,
    refreshToken: undefined,
    scope: undefined,
    idToken: undefined,
    issuedTokenType: undefined,
    issuer: s.origin,
    resource: RESOURCE,
  })
  const [request] = s.hits('/token')
  t.equal(request?.method, 'POST')
  t.equal(request?.headers['content-type'], 'application/x-www-form-urlencoded')
  t.equal(request?.headers.authorization, `Basic ${Buffer.from('app:s3cret').toString('base64')}`)
  t.same(
    [...(request?.form ?? [])],
    [
      ['grant_type', 'client_credentials'],
      ['resource', RESOURCE],
      ['scope', 'mcp:tools mcp:admin'],
    ],
  )
  t.equal(request?.url.search, '', 'nothing in the URL')
})

t.test(
  'client_secret_basic form-encodes id and secret before base64 (RFC 6749 §2.3.1)',
  async (t) => {
    const { s, context } = await setup(t)
    await requestClientCredentials(
      { ...context, client: { clientId: 'a:b c', clientSecret: "p%:+/ é!'()*~" } },
      { resource: RESOURCE },
    )
    const header = s.hits('/token')[0]?.headers.authorization ?? ''
    const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString()
    t.equal(decoded, 'a%3Ab+c:p%25%3A%2B%2F+%C3%A9%21%27%28%29*%7E')
  },
)

t.test('client_secret_post, none, and the server-advertised default', async (t) => {
  const { s, context } = await setup(t)
  await requestClientCredentials(
    {
      ...context,
      client: { clientId: 'app', clientSecret: 'x', authMethod: 'client_secret_post' },
    },
    { resource: RESOURCE },
  )
  let request = s.hits('/token').at(-1)
  t.equal(request?.headers.authorization, undefined)
  t.equal(request?.form.get('client_id'), 'app')
  t.equal(request?.form.get('client_secret'), 'x')

  await requestClientCredentials(
    {
      ...context,
      server: asMetadata(s.origin, {
        token_endpoint_auth_methods_supported: ['client_secret_post'],
      }) as never,
    },
    { resource: RESOURCE },
  )
  request = s.hits('/token').at(-1)
  t.equal(request?.form.get('client_secret'), 's3cret', 'post when the server offers only post')

  await requestClientCredentials(
    { ...context, client: { clientId: 'public' } },
    { resource: RESOURCE },
  )
  request = s.hits('/token').at(-1)
  t.equal(request?.headers.authorization, undefined)
  t.same([...(request?.form.keys() ?? [])], ['grant_type', 'resource', 'client_id'])
})

t.test('private_key_jwt: aud, iss, sub, a fresh jti per request', async (t) => {
  const { s, context } = await setup(t)
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const client = { clientId: 'app', privateKey, keyId: 'k1' }
  await requestClientCredentials({ ...context, client }, { resource: RESOURCE })
  await requestClientCredentials({ ...context, client }, { resource: RESOURCE })
  await requestClientCredentials(
    { ...context, client: { ...client, assertionAudience: 'token_endpoint' } },
    { resource: RESOURCE },
  )
  const forms = s.hits('/token').map((r) => r.form)
  const jtis = new Set<unknown>()
  for (const [i, form] of forms.entries()) {
    t.equal(form.get('client_id'), 'app')
    t.equal(
      form.get('client_assertion_type'),
      'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    )
    const assertion = form.get('client_assertion') ?? ''
    const { payload, protectedHeader } = await jwtVerify(assertion, publicKey, {
      issuer: 'app',
      subject: 'app',
      audience: i === 2 ? `${s.origin}/token` : s.origin,
      currentDate: new Date(NOW),
    })
    t.same(protectedHeader, { alg: 'ES256', kid: 'k1' })
    t.equal(payload.exp, NOW / 1000 + 60)
    jtis.add(payload.jti)
  }
  t.equal(jtis.size, 3, 'every assertion has its own jti')

  for (const [curve, alg] of [
    ['P-384', 'ES384'],
    ['P-521', 'ES512'],
  ] as const) {
    const pair = generateKeyPairSync('ec', { namedCurve: curve })
    await requestClientCredentials(
      { ...context, client: { clientId: 'app', privateKey: pair.privateKey } },
      { resource: RESOURCE },
    )
    t.equal(
      decodeProtectedHeader(s.hits('/token').at(-1)?.form.get('client_assertion') ?? '').alg,
      alg,
    )
  }
  const crypto = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])
  await requestClientCredentials(
    { ...context, client: { clientId: 'app', privateKey: crypto.privateKey } },
    { resource: RESOURCE },
  )
  const last = s.hits('/token').at(-1)?.form.get('client_assertion') ?? ''
  t.equal(decodeProtectedHeader(last).alg, 'ES256')
  t.equal(decodeJwt(last).aud, s.origin)
})

t.test('the resource indicator is mandatory on every grant', async (t) => {
  const { s, context } = await setup(t)
  const calls: [string, () => Promise<unknown>][] = [
    ['client credentials', () => requestClientCredentials(context, { resource: '' })],
    [
      'code',
      () =>
        exchangeAuthorizationCode(context, {
          code: 'c',
          codeVerifier: 'v',
          redirectUri: 'http://127.0.0.1/cb',
          resource: '',
        }),
    ],
    [
      'exchange',
      () =>
        exchangeToken(context, {
          subjectToken: 'x',
          subjectTokenType: TOKEN_TYPES.idToken,
          resource: '',
        }),
    ],
    ['jwt bearer', () => requestJwtBearer(context, { assertion: 'x', resource: '' })],
    ['generic', () => requestToken(context, 'client_credentials', {}, '')],
    ['missing', () => requestClientCredentials(context, {} as never)],
    ['relative', () => requestClientCredentials(context, { resource: '/mcp' })],
    [
      'fragment',
      () => requestClientCredentials(context, { resource: 'https://mcp.example.com/#x' }),
    ],
  ]
  for (const [name, call] of calls) {
    await t.rejects(
      call(),
      { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /resource/ },
      name,
    )
  }
  await t.rejects(
    refreshAccessToken(context, {
      tokens: { refreshToken: 'r', issuer: s.origin, resource: '' } as never,
    }),
    { code: 'ERR_INVALID_ARG_VALUE' },
  )
  t.equal(s.hits('/token').length, 0, 'nothing was sent')
})

t.test(
  'authorization code, refresh, token exchange and JWT bearer: exact form fields',
  async (t) => {
    const { s, context } = await setup(t)
    s.route('/token', ok({ refresh_token: 'rt-1', scope: 'mcp:tools', id_token: 'idt' }))
    const code = await exchangeAuthorizationCode(context, {
      code: 'the-code',
      codeVerifier: 'verifier',
      redirectUri: 'http://127.0.0.1:9/cb',
      resource: RESOURCE,
    })
    t.equal(code.refreshToken, 'rt-1')
    t.equal(code.scope, 'mcp:tools')
    t.equal(code.idToken, 'idt')
    t.same(Object.fromEntries(s.hits('/token').at(-1)?.form ?? []), {
      grant_type: 'authorization_code',
      code: 'the-code',
      code_verifier: 'verifier',
      redirect_uri: 'http://127.0.0.1:9/cb',
      resource: RESOURCE,
    })

    await refreshAccessToken(context, { tokens: code, scope: 'mcp:tools' })
    t.same(Object.fromEntries(s.hits('/token').at(-1)?.form ?? []), {
      grant_type: 'refresh_token',
      refresh_token: 'rt-1',
      resource: RESOURCE,
      scope: 'mcp:tools',
    })
    // A refresh token is never presented to another authorization server.
    const before = s.requests.length
    await t.rejects(
      refreshAccessToken(
        { ...context, server: asMetadata('https://other.example') as never },
        { tokens: code },
      ),
      { code: 'ERR_ISSUER_MISMATCH' },
    )
    await t.rejects(refreshAccessToken(context, { tokens: { ...code, refreshToken: undefined } }), {
      code: 'ERR_INVALID_ARG_VALUE',
    })
    t.equal(s.requests.length, before)

    s.route(
      '/token',
      json({
        access_token: 'jag',
        token_type: 'N_A',
        issued_token_type: TOKEN_TYPES.idJag,
        expires_in: 60,
      }),
    )
    const jag = await exchangeToken(context, {
      subjectToken: 'id-token',
      subjectTokenType: TOKEN_TYPES.idToken,
      requestedTokenType: TOKEN_TYPES.idJag,
      audience: 'https://as.downstream.example',
      resource: RESOURCE,
      scope: 'mcp:tools',
    })
    t.equal(jag.tokenType, 'N_A')
    t.equal(jag.issuedTokenType, TOKEN_TYPES.idJag)
    t.same(Object.fromEntries(s.hits('/token').at(-1)?.form ?? []), {
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: 'id-token',
      subject_token_type: TOKEN_TYPES.idToken,
      requested_token_type: TOKEN_TYPES.idJag,
      audience: 'https://as.downstream.example',
      resource: RESOURCE,
      scope: 'mcp:tools',
    })
    await exchangeToken(context, {
      subjectToken: 'at',
      subjectTokenType: TOKEN_TYPES.accessToken,
      actorToken: 'actor',
      actorTokenType: TOKEN_TYPES.jwt,
      resource: RESOURCE,
    })
    t.match(Object.fromEntries(s.hits('/token').at(-1)?.form ?? []), {
      actor_token: 'actor',
      actor_token_type: TOKEN_TYPES.jwt,
    })
    await t.rejects(
      exchangeToken(context, {
        subjectToken: 'at',
        subjectTokenType: TOKEN_TYPES.accessToken,
        actorToken: 'a',
        resource: RESOURCE,
      }),
      { code: 'ERR_INVALID_ARG_VALUE', message: /actorTokenType/ },
    )
    s.route('/token', json({ access_token: 'x', token_type: 'N_A' }))
    await t.rejects(
      exchangeToken(context, {
        subjectToken: 'x',
        subjectTokenType: TOKEN_TYPES.idToken,
        resource: RESOURCE,
      }),
      {
        code: 'ERR_INVALID_RESPONSE',
        message: /issued_token_type/,
      },
    )

    s.route('/token', ok())
    await requestJwtBearer(context, { assertion: 'the.jag.jwt', resource: RESOURCE, scope: 'a' })
    t.same(Object.fromEntries(s.hits('/token').at(-1)?.form ?? []), {
      grant_type: JWT_BEARER_GRANT,
      assertion: 'the.jag.jwt',
      resource: RESOURCE,
      scope: 'a',
    })
    await t.rejects(requestJwtBearer(context, { assertion: '', resource: RESOURCE }), {
      code: 'ERR_INVALID_ARG_VALUE',
    })
  },
)

t.test(
  'token responses: checked in order; errors passed on intact; no token in messages',
  async (t) => {
    const { s, context } = await setup(t)
    const call = () =>
      requestClientCredentials(context, { resource: RESOURCE }).catch((e: unknown) => e)

    s.route(
      '/token',
      json(
        {
          error: 'invalid_client',
          error_description: 'bad secret',
          error_uri: 'https://as/e',
          extra: 1,
        },
        401,
      ),
    )
    const refused = (await call()) as Record<string, unknown>
    t.match(refused, {
      name: 'OAuthClientError',
      code: 'ERR_OAUTH_ERROR_RESPONSE',
      status: 401,
      error: 'invalid_client',
      errorDescription: 'bad secret',
      errorUri: 'https://as/e',
    })
    t.same(refused.oauthError, {
      error: 'invalid_client',
      error_description: 'bad secret',
      error_uri: 'https://as/e',
      extra: 1,
    })
    t.match(refused.message, /`invalid_client`/)

    s.route(
      '/token',
      json(
        { error: 'x"\nat-1 secret token text that is long enough to be suspicious'.repeat(2) },
        400,
      ),
    )
    const odd = (await call()) as Error
    t.notMatch(odd.message, /secret token/, 'odd error codes are not echoed')

    s.route('/token', {
      status: 400,
      headers: { 'content-type': 'application/json' },
      body: '{"error":',
    })
    t.match(await call(), { code: 'ERR_UNEXPECTED_STATUS', status: 400, oauthError: undefined })
    s.route('/token', { status: 500, body: 'oops' })
    t.match(await call(), { code: 'ERR_UNEXPECTED_STATUS', status: 500 })
    s.route('/token', {
      status: 200,
      headers: { 'content-type': 'text/plain' },
      body: 'access_token=at-1',
    })
    t.match(await call(), { code: 'ERR_INVALID_RESPONSE', message: /not JSON/ })
    s.route('/token', {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: 'zQ9xSecretAccessToken',
    })
    const garbage = (await call()) as Error
    t.match(garbage, { code: 'ERR_INVALID_RESPONSE' })
    // Not in the message, nor in a cause (V8's SyntaxError quotes the body) or another member.
    t.notMatch(inspect(garbage, { depth: Infinity, showHidden: true }), /zQ9xSecret/)
    s.route('/token', { status: 302, headers: { location: 'https://evil.example/token' } })
    t.match(await call(), { code: 'ERR_REDIRECT_REFUSED' })

    for (const body of [
      { token_type: 'Bearer' },
      { access_token: 'at-1' },
      { access_token: '', token_type: 'Bearer' },
      { access_token: 1, token_type: 'Bearer' },
      { access_token: 'at-1', token_type: 'DPoP' },
      { access_token: 'at-1', token_type: 'Bearer', expires_in: '300' },
      { access_token: 'at-1', token_type: 'Bearer', expires_in: -1 },
      { access_token: 'at-1', token_type: 'Bearer', refresh_token: 7 },
      { access_token: 'at-1', token_type: 'Bearer', scope: ['a'] },
      // RFC 6749 A.12, A.17: tokens are VSCHAR; a line break would end up in a header.
      { access_token: 'at-1\r\nx-injected: 1', token_type: 'Bearer' },
      { access_token: 'at-1\u00e9', token_type: 'Bearer' },
      { access_token: 'at-2', token_type: 'Bearer', refresh_token: 'at-1\n' },
    ]) {
      s.route('/token', json(body))
      const error = (await call()) as Error & { code?: string }
      t.equal(error.code, 'ERR_INVALID_RESPONSE', JSON.stringify(body))
      t.notMatch(error.message, /at-1/)
    }
    s.route('/token', json({ access_token: 'at-1', token_type: 'bearer' }))
    t.match(await call(), { tokenType: 'bearer', expiresAt: undefined })
  },
)

t.test('context and option mistakes are TypeErrors up front', async (t) => {
  const { s, context } = await setup(t)
  const cc = (ctx: unknown) =>
    requestClientCredentials(ctx as TokenEndpointContext, { resource: RESOURCE })
  await t.rejects(cc({ ...context, server: null }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /context.server/,
  })
  await t.rejects(cc({ ...context, client: { clientId: '' } }), {
    message: /context.client.clientId/,
  })
  await t.rejects(cc({ ...context, client: { clientId: 'a', clientSecre: 'x' } }), {
    message: /did you mean `clientSecret`/,
  })
  await t.rejects(cc({ ...context, client: { clientId: 'a', authMethod: 'tls_client_auth' } }), {
    message: /authMethod/,
  })
  await t.rejects(
    cc({ ...context, client: { clientId: 'a', authMethod: 'client_secret_basic' } }),
    { message: /clientSecret/ },
  )
  await t.rejects(cc({ ...context, client: { clientId: 'a', authMethod: 'private_key_jwt' } }), {
    message: /privateKey/,
  })
  await t.rejects(cc({ ...context, client: { clientId: 'a', privateKey: 'pem' } }), {
    message: /privateKey/,
  })
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
  await t.rejects(cc({ ...context, client: { clientId: 'a', privateKey: rsa.privateKey } }), {
    message: /privateKey/,
  })
  await t.rejects(cc({ ...context, client: { clientId: 'a', privateKey: rsa.publicKey } }), {
    message: /privateKey/,
  })
  await t.rejects(cc({ ...context, client: { clientId: 'a', assertionAudience: 'both' } }), {
    message: /assertionAudience/,
  })
  await t.rejects(cc({ ...context, client: { clientId: 'a', issuer: 'https://other.example' } }), {
    message: /context.client.issuer/,
  })
  await t.rejects(cc({ ...context, now: 5 }), { message: /context.now/ })
  await t.rejects(cc({ ...context, server: { issuer: s.origin } }), {
    code: 'ERR_UNSUPPORTED_BY_SERVER',
  })
  await t.rejects(
    cc({ ...context, server: { issuer: s.origin, token_endpoint: 'http://evil.example/token' } }),
    {
      code: 'ERR_INVALID_RESPONSE',
    },
  )
  await t.rejects(requestClientCredentials(context, { resource: RESOURCE, scope: 'a  b' }), {
    message: /scope/,
  })
  await t.rejects(requestClientCredentials(context, { resource: RESOURCE, scopes: 'a' } as never), {
    message: /did you mean `scope`/,
  })
  await t.rejects(requestToken(context, '', {}, RESOURCE), { message: /grantType/ })
  t.equal(s.hits('/token').length, 0)
  // Issuer-bound client at its own issuer is fine.
  await cc({ ...context, client: { clientId: 'a', clientSecret: 'b', issuer: s.origin } })
  t.equal(s.hits('/token').length, 1)
})

t.test('a refresh answered without a new refresh token keeps the one presented', async (t) => {
  const { s, context } = await setup(t)
  s.route('/token', ok({ refresh_token: 'rt-1' }))
  const first = await requestClientCredentials(context, { resource: RESOURCE })
  // RFC 6749 §6: the server MAY issue a new refresh token; when it does not, the old one stays.
  s.route('/token', ok({ access_token: 'at-2' }))
  const second = await refreshAccessToken(context, { tokens: first })
  t.equal(second.accessToken, 'at-2')
  t.equal(second.refreshToken, 'rt-1')
  t.equal(second.issuer, s.origin)
  t.ok(Object.isFrozen(second))
  t.notMatch(inspect(second), /rt-1|at-2/, 'still redacted')
  t.notMatch(JSON.stringify(second), /rt-1|at-2/)
  const third = await refreshAccessToken(context, { tokens: second })
  t.equal(third.refreshToken, 'rt-1')
  t.equal(s.hits('/token').at(-1)?.form.get('refresh_token'), 'rt-1')
  // A rotated one replaces it.
  s.route('/token', ok({ refresh_token: 'rt-2' }))
  t.equal((await refreshAccessToken(context, { tokens: third })).refreshToken, 'rt-2')
})
