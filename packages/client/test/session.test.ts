// The session against scriptable loopback servers: the authorization code flow with every
// refusal (no token request follows any of them), JWT bearer, refresh on expiry from an injected
// clock, host callbacks that misbehave, and shared authorizations.
import { generateKeyPairSync } from 'node:crypto'
import { jwtVerify } from 'jose'
import t, { type Test } from 'tap'
import { inspect } from 'node:util'
import {
  createOAuthSession,
  type OAuthSession,
  type OAuthSessionOptions,
  type PendingAuthorization,
} from '../src/index.js'
import { callHost } from '../src/lib/callback.js'
import {
  asMetadata,
  json,
  loopbackOnly,
  startServer,
  type Recorded,
  type TestServer,
} from './fixtures/server.js'

loopbackOnly(t)

const REDIRECT = 'http://127.0.0.1:8976/callback'

/** One server playing MCP resource and authorization server; /mcp wants a token with `need`. */
async function world(t: Test, options: { need?: string; iss?: boolean } = {}) {
  const s = await startServer(t)
  const resource = `${s.origin}/mcp`
  const need = options.need ?? 'mcp:tools'
  let issued = 0
  const granted = new Map<string, string>()
  s.route(
    '/.well-known/oauth-protected-resource/mcp',
    json({ resource, authorization_servers: [s.origin], scopes_supported: ['mcp:tools'] }),
  )
  s.route(
    '/.well-known/oauth-authorization-server',
    json(
      asMetadata(s.origin, { authorization_response_iss_parameter_supported: options.iss ?? true }),
    ),
  )
  s.route('/token', (request: Recorded) => {
    issued++
    const token = `at-${issued}`
    const scope = request.form.get('scope') ?? 'mcp:tools'
    granted.set(token, scope)
    return json({
      access_token: token,
      token_type: 'Bearer',
      expires_in: 600,
      refresh_token: `rt-${issued}`,
      scope,
    })
  })
  s.route('/mcp', (request: Recorded) => {
    const token = request.headers.authorization?.replace(/^Bearer /, '')
    if (token === undefined || !granted.has(token)) {
      return {
        status: 401,
        headers: {
          'www-authenticate': `Bearer scope="mcp:tools", resource_metadata="${s.origin}/.well-known/oauth-protected-resource/mcp"`,
        },
      }
    }
    const scopes = (granted.get(token) ?? '').split(' ')
    if (!need.split(' ').every((scope) => scopes.includes(scope))) {
      return {
        status: 403,
        headers: { 'www-authenticate': `Bearer error="insufficient_scope", scope="${need}"` },
      }
    }
    return json({ ok: token })
  })
  return { s, resource }
}

function session(
  resource: string,
  grant: OAuthSessionOptions['grant'],
  extra: Partial<OAuthSessionOptions> = {},
) {
  return createOAuthSession({ resource, client: { clientId: 'app' }, grant, ...extra })
}

/** An authorize callback that answers like the server would, then lets a test tamper with it. */
function answer(
  s: TestServer,
  tamper: (params: URLSearchParams, pending: PendingAuthorization) => void = () => undefined,
) {
  return (pending: PendingAuthorization) => {
    const url = new URL(pending.redirectUri)
    url.searchParams.set('code', 'the-code')
    url.searchParams.set('state', pending.state)
    url.searchParams.set('iss', s.origin)
    tamper(url.searchParams, pending)
    return url
  }
}

t.test(
  'authorization code through the session: the code is redeemed with its verifier',
  async (t) => {
    const { s, resource } = await world(t)
    let seen: PendingAuthorization | undefined
    const authorize = answer(s)
    const one = session(resource, {
      type: 'authorization_code',
      redirectUri: REDIRECT,
      authorize: (pending) => {
        seen = pending
        return authorize(pending).href
      },
    })
    const response = await one.fetch(resource, { method: 'POST', body: '{}' })
    t.same(await response.json(), { ok: 'at-1' })
    t.match(Object.fromEntries(seen?.url.searchParams ?? []), {
      scope: 'mcp:tools',
      resource,
      client_id: 'app',
    })
    t.same(Object.fromEntries(s.hits('/token')[0]?.form ?? []), {
      grant_type: 'authorization_code',
      code: 'the-code',
      code_verifier: seen?.codeVerifier,
      redirect_uri: REDIRECT,
      resource,
      client_id: 'app',
    })
    t.equal(s.hits('/mcp').length, 2, 'one 401, one retry')
  },
)

t.test(
  'hostile authorization responses: refused with their code, and no token request',
  async (t) => {
    const cases: [string, (p: URLSearchParams) => void, string, { iss?: boolean }?][] = [
      ['state mismatch', (p) => p.set('state', 'forged'), 'ERR_STATE_MISMATCH'],
      ['iss missing', (p) => p.delete('iss'), 'ERR_ISS_MISSING'],
      ['iss wrong', (p) => p.set('iss', 'https://evil.example'), 'ERR_ISS_MISMATCH'],
      [
        'iss wrong, not advertised',
        (p) => p.set('iss', 'https://evil.example'),
        'ERR_ISS_MISMATCH',
        { iss: false },
      ],
      [
        'error',
        (p) => {
          p.delete('code')
          p.set('error', 'access_denied')
        },
        'ERR_AUTHORIZATION_ERROR',
      ],
    ]
    for (const [name, tamper, code, options] of cases) {
      const { s, resource } = await world(t, options)
      const one = session(resource, {
        type: 'authorization_code',
        redirectUri: REDIRECT,
        authorize: answer(s, tamper),
      })
      await t.rejects(one.fetch(resource, { method: 'POST', body: '{}' }), { code }, name)
      t.equal(s.hits('/token').length, 0, `${name}: the code was discarded`)
      t.equal(one.state.tokens, undefined)
    }
  },
)

t.test('host callbacks that throw, hang or answer the wrong type fail closed', async (t) => {
  const { s, resource } = await world(t)
  const grants = [
    () => {
      throw new Error('browser closed')
    },
    () => new Promise<string>(() => undefined),
    () => 42 as unknown as string,
    () => '',
  ]
  for (const authorize of grants) {
    const one = session(
      resource,
      { type: 'authorization_code', redirectUri: REDIRECT, authorize },
      { callbackTimeout: 20 },
    )
    await t.rejects(one.authorize(), { code: 'ERR_CALLBACK_FAILED' })
  }
  const bearer = session(resource, {
    type: 'jwt_bearer',
    assertion: () => Promise.reject(new Error('no idp')),
  })
  const error = await bearer.authorize().catch((e: unknown) => e)
  t.match(error, { code: 'ERR_CALLBACK_FAILED', cause: { message: 'no idp' } })
  t.equal(s.hits('/token').length, 0)
})

t.test('a callback that calls its session back for a token is refused at once', async (t) => {
  const { s, resource } = await world(t)
  // Without the refusal each of these waits for the callback deadline: far longer than the test.
  const slow = { callbackTimeout: 60_000 }
  const reentrant = {
    code: 'ERR_REENTRANT_CALL',
    message: /while the session waits for that callback/,
  }
  const calls: [string, (one: OAuthSession) => Promise<unknown>][] = [
    ['getTokens', (one) => one.getTokens()],
    ['authorize', (one) => one.authorize()],
    ['fetch', (one) => one.fetch(resource, { method: 'POST', body: '{}' })],
  ]
  for (const [name, call] of calls) {
    const inner: unknown[] = []
    const one: OAuthSession = session(
      resource,
      {
        type: 'authorization_code',
        redirectUri: REDIRECT,
        authorize: async (pending) => {
          inner.push(await call(one).catch((error: unknown) => error))
          return answer(s)(pending)
        },
      },
      slow,
    )
    const started = performance.now()
    const tokens = await one.getTokens()
    t.ok(performance.now() - started < 30_000, `${name}: not the callback deadline`)
    t.match(inner, [reentrant], `${name}: the inner call is refused`)
    t.equal(tokens.accessToken, one.state.tokens?.accessToken, `${name}: the outer one goes on`)
  }
  t.equal(s.hits('/token').length, 3, 'one token request per session, none for the inner calls')

  // A callback that lets the refusal escape fails its step with it as the cause; nothing is sent.
  const bearer: OAuthSession = session(
    resource,
    { type: 'jwt_bearer', assertion: async () => (await bearer.getTokens()).accessToken },
    slow,
  )
  const started = performance.now()
  const error = await bearer.getTokens().catch((e: unknown) => e)
  t.ok(performance.now() - started < 30_000, 'not the callback deadline')
  t.match(error, { code: 'ERR_CALLBACK_FAILED', cause: reentrant })
  t.equal(s.hits('/token').length, 3)
})

t.test('what a callback may still do with its session, and with another', async (t) => {
  const { s, resource } = await world(t)
  // Authorizing again (as for a step-up): the first token is still current, and is answered;
  // during the first authorization there is none yet, and the call is refused.
  const seen: unknown[] = []
  const one: OAuthSession = session(resource, {
    type: 'authorization_code',
    redirectUri: REDIRECT,
    authorize: async (pending) => {
      seen.push(
        one.currentAccessToken(),
        await one.getTokens().then(
          (tokens) => tokens.accessToken,
          (error: { code?: string }) => error.code,
        ),
      )
      return answer(s)(pending)
    },
  })
  t.equal((await one.getTokens()).accessToken, 'at-1')
  t.equal((await one.authorize()).accessToken, 'at-2')
  t.same(seen, [undefined, 'ERR_REENTRANT_CALL', 'at-1', 'at-1'])

  // Callers elsewhere still wait for the authorization in progress, and share it.
  let release: () => void = () => undefined
  const held = new Promise<void>((resolve) => (release = resolve))
  let later: Promise<unknown> | undefined
  const two: OAuthSession = session(resource, {
    type: 'authorization_code',
    redirectUri: REDIRECT,
    authorize: async (pending) => {
      await held
      // Left running after the answer: by then the session no longer waits for this callback.
      later = new Promise((resolve) => setImmediate(resolve)).then(() => two.getTokens())
      return answer(s)(pending)
    },
  })
  const first = two.getTokens()
  const outside = two.getTokens()
  release()
  const [a, b] = await Promise.all([first, outside])
  t.equal(a, b, 'one authorization for both callers')
  t.equal(await later, a, 'the leftover call joined it')

  // A callback may use another session; a cycle through two sessions is refused like one.
  const helper = session(resource, { type: 'client_credentials' })
  const outer = session(resource, {
    type: 'jwt_bearer',
    assertion: async () => (await helper.getTokens()).accessToken,
  })
  t.type((await outer.getTokens()).accessToken, 'string')
  let cycleError: unknown
  const x: OAuthSession = session(
    resource,
    { type: 'jwt_bearer', assertion: async () => (await y.getTokens()).accessToken },
    { callbackTimeout: 60_000 },
  )
  const y: OAuthSession = session(
    resource,
    {
      type: 'jwt_bearer',
      assertion: async () => {
        cycleError = await x.getTokens().catch((e: unknown) => e)
        return 'y-assertion'
      },
    },
    { callbackTimeout: 60_000 },
  )
  const started = performance.now()
  t.type((await x.getTokens()).accessToken, 'string')
  t.ok(performance.now() - started < 30_000, 'not the callback deadline')
  t.match(cycleError, { code: 'ERR_REENTRANT_CALL' })
})

t.test('JWT bearer: the assertion callback is told issuer, resource and scope', async (t) => {
  const { s, resource } = await world(t)
  const asked: unknown[] = []
  const one = session(resource, {
    type: 'jwt_bearer',
    assertion: (request) => {
      asked.push(request)
      return 'the.id.jag'
    },
  })
  const tokens = await one.getTokens()
  t.equal(tokens.accessToken, 'at-1')
  t.same(asked, [{ issuer: s.origin, resource, scope: 'mcp:tools' }], 'scope from scopes_supported')
  t.match(Object.fromEntries(s.hits('/token')[0]?.form ?? []), {
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: 'the.id.jag',
    resource,
  })
  t.equal(
    s.hits('/.well-known/oauth-protected-resource/mcp').length,
    1,
    'discovered without a challenge',
  )
})

t.test(
  'an authorize callback answering a path, not a URL: an OAuthClientError that quotes no code',
  async (t) => {
    const { s, resource } = await world(t)
    const one = session(resource, {
      type: 'authorization_code',
      redirectUri: REDIRECT,
      // The mistake a host makes with node:http: request.url is a path.
      authorize: (pending) => {
        const url = answer(s)(pending)
        return url.pathname + url.search
      },
    })
    const error = await one.fetch(resource, { method: 'POST', body: '{}' }).catch((e: unknown) => e)
    t.match(error, { name: 'OAuthClientError', code: 'ERR_INVALID_RESPONSE' })
    t.notMatch(inspect(error), /the-code/, 'the code is not in the error or its cause')
    t.equal(s.hits('/token').length, 0)
  },
)

t.test(
  'expiry from the injected clock: refresh, and a new grant when refresh is refused',
  async (t) => {
    const { s, resource } = await world(t)
    let now = 1_800_000_000_000
    const one = session(
      resource,
      { type: 'client_credentials' },
      { now: () => now, scope: 'mcp:tools' },
    )
    const first = await one.getTokens()
    t.equal(first.expiresAt, now / 1000 + 600)
    t.equal(await one.getTokens(), first, 'still fresh')
    t.equal(one.currentAccessToken(), 'at-1')
    now += (600 - 30) * 1000 - 1000
    t.equal(one.currentAccessToken(), 'at-1', 'one second before the skew')
    now += 1000
    t.equal(one.currentAccessToken(), undefined, 'at the skew it counts as expired')
    const second = await one.getTokens()
    t.equal(second.accessToken, 'at-2')
    t.match(Object.fromEntries(s.hits('/token')[1]?.form ?? []), {
      grant_type: 'refresh_token',
      refresh_token: 'rt-1',
      resource,
    })

    now += 601_000
    s.route('/token', (request: Recorded) =>
      request.form.get('grant_type') === 'refresh_token'
        ? json({ error: 'invalid_grant' }, 400)
        : json({ access_token: 'at-new', token_type: 'Bearer' }),
    )
    t.equal((await one.getTokens()).accessToken, 'at-new')
    t.same(
      s
        .hits('/token')
        .slice(2)
        .map((r) => r.form.get('grant_type')),
      ['refresh_token', 'client_credentials'],
    )
  },
)

t.test('an access token that cannot go into a header: refused, and not quoted', async (t) => {
  const { s, resource } = await world(t)
  s.route('/token', json({ access_token: 'at-1\nx-injected: 1', token_type: 'Bearer' }))
  const one = session(resource, { type: 'client_credentials' })
  const error = await one.fetch(resource, { method: 'POST', body: '{}' }).catch((e: unknown) => e)
  t.match(error, { name: 'OAuthClientError', code: 'ERR_INVALID_RESPONSE' })
  t.notMatch(inspect(error, { depth: Infinity }), /at-1/)
  t.equal(one.state.tokens, undefined)
})

t.test('concurrent requests share one authorization', async (t) => {
  const { s, resource } = await world(t)
  const one = session(resource, { type: 'client_credentials' })
  const responses = await Promise.all(
    [1, 2, 3].map(() => one.fetch(resource, { method: 'POST', body: '{}' })),
  )
  t.same(
    responses.map((r) => r.status),
    [200, 200, 200],
  )
  t.equal(s.hits('/token').length, 1)
})

t.test('step-up keeps earlier scopes; the bound holds; other statuses pass through', async (t) => {
  const { s, resource } = await world(t, { need: 'mcp:tools mcp:admin' })
  const one = session(resource, { type: 'client_credentials' })
  const response = await one.fetch(resource, { method: 'POST', body: '{}' })
  t.equal(response.status, 200)
  t.same(
    s.hits('/token').map((r) => r.form.get('scope')),
    ['mcp:tools', 'mcp:tools mcp:admin'],
  )

  s.route('/mcp', {
    status: 403,
    headers: { 'www-authenticate': 'Bearer error="insufficient_scope", scope="mcp:more"' },
  })
  const none = session(resource, { type: 'client_credentials' }, { maxStepUps: 0 })
  await t.rejects(none.fetch(resource, { method: 'POST', body: '{}' }), {
    code: 'ERR_STEP_UP_EXHAUSTED',
  })

  // A 403 without insufficient_scope, and a body that cannot be sent twice, are answered as is.
  s.route('/mcp', { status: 403, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } })
  t.equal((await one.fetch(resource, { method: 'POST', body: '{}' })).status, 403)
  s.route('/mcp', { status: 401, headers: { 'www-authenticate': 'Bearer' } })
  const stream = new Blob(['{}']).stream()
  t.equal((await one.fetch(resource, { method: 'POST', body: stream, duplex: 'half' })).status, 401)
  t.equal(s.hits('/token').length, 2)
})

t.test('session.fetch to another origin: no token, and its challenge steers nothing', async (t) => {
  const { s, resource } = await world(t)
  const other = await startServer(t)
  // Another origin answers like a resource would, naming the session's resource and an
  // authorization server of its own (RFC 9728 §3.3: metadata from a challenge is only good
  // for the URL the request went to).
  other.route(
    '/prm',
    json({ resource, authorization_servers: [other.origin], scopes_supported: ['mcp:tools'] }),
  )
  other.route('/.well-known/oauth-authorization-server', json(asMetadata(other.origin)))
  other.route('/token', json({ access_token: 'theirs', token_type: 'Bearer' }))
  other.route('/api', {
    status: 401,
    headers: { 'www-authenticate': `Bearer resource_metadata="${other.origin}/prm"` },
  })
  const one = session(resource, { type: 'client_credentials' })
  t.equal((await one.fetch(resource, { method: 'POST', body: '{}' })).status, 200)
  const response = await one.fetch(`${other.origin}/api`, {
    method: 'POST',
    body: '{}',
    headers: { 'x-kept': '1' },
  })
  t.equal(response.status, 401, 'answered as is')
  t.equal(other.hits('/api').length, 1)
  t.equal(other.hits('/api')[0]?.headers.authorization, undefined, 'no token sent there')
  t.equal(other.hits('/api')[0]?.headers['x-kept'], '1')
  t.same(
    other.requests.map((r) => r.path),
    ['/api'],
    'no discovery, registration or token request followed',
  )
  t.equal(one.state.authorizationServer?.issuer, s.origin)
  t.equal(one.currentAccessToken(), 'at-1')
  t.equal((await one.fetch(new Request(`${other.origin}/api`))).status, 401, 'a Request too')
  t.equal(other.hits('/api')[1]?.headers.authorization, undefined)
  // The resource's own origin, another path: the token goes along, as before.
  s.route('/mcp/other', (request: Recorded) => json({ auth: request.headers.authorization }))
  t.same(await (await one.fetch(`${s.origin}/mcp/other`)).json(), { auth: 'Bearer at-1' })
})

t.test('the legacy path, and a challenge naming other metadata re-discovers', async (t) => {
  const s = await startServer(t)
  const resource = `${s.origin}/mcp`
  s.route(
    '/.well-known/oauth-authorization-server',
    json(asMetadata(`${s.origin}/`, { token_endpoint: `${s.origin}/token` })),
  )
  s.route('/token', json({ access_token: 'legacy', token_type: 'Bearer' }))
  const one = session(
    resource,
    { type: 'client_credentials' },
    { clientMetadata: { client_name: 'x', grant_types: ['client_credentials'] } },
  )
  t.equal((await one.getTokens()).accessToken, 'legacy')
  t.equal(one.state.protectedResource?.source, 'legacy')
  t.equal(one.state.authorizationServer?.issuer, `${s.origin}/`)

  s.route('/prm', json({ resource, authorization_servers: [`${s.origin}/two`] }))
  s.route(
    '/.well-known/oauth-authorization-server/two',
    json(asMetadata(`${s.origin}/two`, { token_endpoint: `${s.origin}/two/token` })),
  )
  s.route('/two/token', json({ access_token: 'two', token_type: 'Bearer' }))
  s.route('/two/register', json({ client_id: 'registered-at-two' }, 201))
  const tokens = await one.authorize({
    wwwAuthenticate: `Bearer resource_metadata="${s.origin}/prm"`,
  })
  t.equal(tokens.accessToken, 'two')
  t.equal(one.state.authorizationServer?.issuer, `${s.origin}/two`)
  // The pre-registered client is bound to the first server: at the second one it registers.
  t.same(
    [one.state.client?.method, one.state.client?.client.clientId],
    ['dynamic', 'registered-at-two'],
  )
  t.equal(s.hits('/two/token')[0]?.form.get('client_id'), 'registered-at-two')

  const strict = session(resource, { type: 'client_credentials' }, { legacyFallback: false })
  await t.rejects(strict.getTokens(), { code: 'ERR_RESOURCE_METADATA_NOT_FOUND' })
  await t.rejects(one.authorize({ wwwAuthenticate: 5 } as never), { code: 'ERR_INVALID_ARG_VALUE' })
})

t.test('options are checked when the session is created', async (t) => {
  const ok = {
    resource: 'https://mcp.example.com/mcp',
    grant: { type: 'client_credentials' },
  } as const
  const bad: [string, Record<string, unknown>][] = [
    ['resource', { resource: 'ftp://x' }],
    ['grant', { grant: null }],
    ['grant type', { grant: { type: 'password' } }],
    ['authorize', { grant: { type: 'authorization_code', redirectUri: REDIRECT } }],
    [
      'redirect',
      {
        grant: {
          type: 'authorization_code',
          redirectUri: 'http://evil.example/cb',
          authorize: () => '',
        },
      },
    ],
    ['assertion', { grant: { type: 'jwt_bearer' } }],
    ['scope', { scope: '' }],
    ['maxStepUps', { maxStepUps: -1 }],
    ['callbackTimeout', { callbackTimeout: 0 }],
    ['expirySkew', { expirySkew: -1 }],
    ['legacyFallback', { legacyFallback: 'no' }],
    ['now', { now: 1 }],
    ['unknown', { scopes: 'a' }],
  ]
  for (const [name, change] of bad) {
    t.throws(
      () => createOAuthSession({ ...ok, ...change }),
      { code: 'ERR_INVALID_ARG_VALUE' },
      name,
    )
  }
  t.equal(
    createOAuthSession({ ...ok, resource: new URL('https://mcp.example.com') } as never).resource,
    'https://mcp.example.com/',
  )
})

t.test(
  'a pre-registered client without an issuer is bound to the first one it is used with',
  async (t) => {
    const { s, resource } = await world(t)
    const one = createOAuthSession({
      resource,
      client: { clientId: 'app', clientSecret: 'the-secret' },
      grant: { type: 'client_credentials' },
    })
    await one.getTokens()
    t.equal(one.state.client?.client.issuer, undefined, 'the first use is with the client as given')
    // The resource now points at metadata naming an attacker's authorization server.
    const evil = await startServer(t)
    evil.route('/.well-known/oauth-authorization-server', json(asMetadata(evil.origin)))
    evil.route('/token', json({ access_token: 'stolen', token_type: 'Bearer' }))
    s.route('/evil-prm', json({ resource, authorization_servers: [evil.origin] }))
    await t.rejects(
      one.authorize({ wwwAuthenticate: `Bearer resource_metadata="${s.origin}/evil-prm"` }),
      {
        code: 'ERR_CLIENT_REQUIRED',
      },
    )
    t.equal(evil.hits('/token').length, 0, 'the secret never reached the other server')
  },
)

t.test('session state, token sets and registrations print without secrets', async (t) => {
  const { s, resource } = await world(t)
  s.route(
    '/register',
    json(
      { client_id: 'dyn', client_secret: 'dyn-secret', registration_access_token: 'rat-value-42' },
      201,
    ),
  )
  const one = createOAuthSession({
    resource,
    clientMetadata: { client_name: 'x', grant_types: ['client_credentials'] },
    grant: { type: 'client_credentials' },
  })
  const tokens = await one.getTokens()
  t.equal(tokens.accessToken, 'at-1', 'the fields stay readable')
  t.equal(one.state.client?.client.clientSecret, 'dyn-secret')
  for (const text of [
    JSON.stringify(one.state),
    inspect(one.state, { depth: 5 }),
    JSON.stringify(tokens),
    inspect(tokens),
  ]) {
    for (const secret of ['at-1', 'rt-1', 'dyn-secret', 'rat-value-42'])
      t.notOk(text.includes(secret), secret)
    t.match(text, /\[redacted\]/)
  }
  t.same(Object.keys(tokens).includes('toJSON'), false)
})

t.test('a session registering a private_key_jwt client authenticates with its key', async (t) => {
  const { s, resource } = await world(t)
  s.route('/register', (request: Recorded) =>
    json({ client_id: 'pk-svc', ...(JSON.parse(request.body) as object) }, 201),
  )
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const clientMetadata = {
    client_name: 'svc',
    grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'private_key_jwt' as const,
    jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'svc-1' }] },
  }
  const one = createOAuthSession({
    resource,
    clientMetadata,
    clientKey: { privateKey },
    grant: { type: 'client_credentials' },
  })
  t.equal((await one.fetch(resource, { method: 'POST', body: '{}' })).status, 200)
  t.equal(one.state.client?.method, 'dynamic')
  const form = s.hits('/token')[0]?.form
  t.equal(form?.get('client_id'), 'pk-svc')
  const { protectedHeader } = await jwtVerify(form?.get('client_assertion') ?? '', publicKey, {
    issuer: 'pk-svc',
    subject: 'pk-svc',
    audience: s.origin,
  })
  t.equal(protectedHeader.kid, 'svc-1')
  for (const text of [JSON.stringify(one.state), inspect(one.state, { depth: 5 })]) {
    t.notOk(text.includes('BEGIN'), 'no key material in prints')
    t.match(text, /"privateKey": ?"\[redacted\]"|privateKey: '\[redacted\]'/)
  }

  // The metadata left the method to the server, which chose private_key_jwt, and no key was
  // given: refused after the registration, before any token request.
  s.route(
    '/register',
    json({ client_id: 'pk-2', token_endpoint_auth_method: 'private_key_jwt' }, 201),
  )
  const keyless = createOAuthSession({
    resource,
    clientMetadata: { client_name: 'svc', grant_types: ['client_credentials'] },
    grant: { type: 'client_credentials' },
  })
  await t.rejects(keyless.getTokens(), { code: 'ERR_CLIENT_KEY_REQUIRED' })
  t.equal(s.hits('/token').length, 1, 'no token request as a public client')
  t.equal(keyless.state.client, undefined)

  // Asked for in the metadata without a key, or a key without metadata: at creation.
  t.throws(
    () =>
      createOAuthSession({
        resource,
        clientMetadata,
        grant: { type: 'client_credentials' },
      }),
    { code: 'ERR_INVALID_ARG_VALUE', message: /options.clientKey is required/ },
  )
  t.throws(
    () =>
      createOAuthSession({
        resource,
        client: { clientId: 'app' },
        clientKey: { privateKey },
        grant: { type: 'client_credentials' },
      }),
    { code: 'ERR_INVALID_ARG_VALUE', message: /options.clientKey is only used with/ },
  )
  t.throws(
    () =>
      createOAuthSession({
        resource,
        clientMetadata: { ...clientMetadata, jwks: { keys: [] } },
        clientKey: { privateKey },
        grant: { type: 'client_credentials' },
      }),
    {
      message:
        /options.clientKey.privateKey must be the private half of a signing key in options.clientMetadata.jwks/,
    },
  )
  t.equal(s.hits('/register').length, 2)
})

t.test('client and metadata URL mistakes fail at creation', async (t) => {
  const ok = {
    resource: 'https://mcp.example.com/mcp',
    grant: { type: 'client_credentials' },
  } as const
  t.throws(() => createOAuthSession({ ...ok, client: { clientId: '' } }), {
    message: /options.client.clientId/,
  })
  t.throws(() => createOAuthSession({ ...ok, clientMetadataUrl: 'http://x.example/c.json' }), {
    message: /clientMetadataUrl/,
  })
})

t.test('a callback deadline longer than a timer holds waits for the callback', async (t) => {
  // Node.js fires a timer set past 2^31 - 1 ms after 1 ms: a 30-day callbackTimeout must not
  // fail every callback at once.
  const owner = {}
  const value = await callHost(
    'authorize',
    30 * 24 * 3600 * 1000,
    () => new Promise<string>((resolve) => setTimeout(() => resolve('done'), 30)),
    (answer): answer is string => typeof answer === 'string',
    owner,
  )
  t.equal(value, 'done')
})

t.test('a request refused after another one authorized retries with its token first', async (t) => {
  const { s, resource } = await world(t)
  // The resource accepts the tokens the token endpoint issues; a request marked `x-late` is
  // answered only once the test lets it go, as a slow network would.
  let release: () => void = () => undefined
  const late = new Promise<void>((resolve) => {
    release = resolve
  })
  s.route('/mcp', async (request: Recorded) => {
    const token = request.headers.authorization?.replace(/^Bearer /, '')
    if (token !== undefined && /^at-\d+$/.test(token)) return json({ ok: token })
    if (request.headers['x-late'] === '1') await late
    return {
      status: 401,
      headers: {
        'www-authenticate': `Bearer scope="mcp:tools", resource_metadata="${s.origin}/.well-known/oauth-protected-resource/mcp"`,
      },
    }
  })
  let asked = 0
  const authorize = answer(s)
  const one = session(resource, {
    type: 'authorization_code',
    redirectUri: REDIRECT,
    authorize: (pending) => {
      asked++
      return authorize(pending).href
    },
  })
  // Both go out without a token; the first is answered late, after the second's authorization.
  const first = one.fetch(resource, { method: 'POST', body: '{}', headers: { 'x-late': '1' } })
  const second = await one.fetch(resource, { method: 'POST', body: '{}' })
  t.same(await second.json(), { ok: 'at-1' })
  release()
  t.same(await (await first).json(), { ok: 'at-1' })
  t.equal(asked, 1, 'the user is asked once')
  t.equal(s.hits('/token').length, 1)
  // A token that is itself refused is not retried: the session authorizes again.
  s.route('/mcp', (request: Recorded) => {
    const token = request.headers.authorization?.replace(/^Bearer /, '')
    if (token === 'at-2') return json({ ok: token })
    return {
      status: 401,
      headers: {
        'www-authenticate': `Bearer resource_metadata="${s.origin}/.well-known/oauth-protected-resource/mcp"`,
      },
    }
  })
  t.same(await (await one.fetch(resource, { method: 'POST', body: '{}' })).json(), { ok: 'at-2' })
  t.equal(asked, 2)
})
