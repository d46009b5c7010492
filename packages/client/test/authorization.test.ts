import t from 'tap'
import { inspect } from 'node:util'
import {
  createAuthorizationRequest,
  createPkcePair,
  followAuthorizationRedirects,
  pkceChallenge,
  readAuthorizationResponse,
  type PendingAuthorization,
} from '../src/index.js'
import { asMetadata, loopbackOnly, startServer } from './fixtures/server.js'

loopbackOnly(t)

const ISSUER = 'https://as.example.com'
const REDIRECT = 'http://127.0.0.1:8976/callback'
const RESOURCE = 'https://mcp.example.com/mcp'

function pending(extra: Record<string, unknown> = {}): PendingAuthorization {
  return createAuthorizationRequest({
    server: asMetadata(ISSUER, {
      authorization_endpoint: `${ISSUER}/authorize?tenant=a`,
      authorization_response_iss_parameter_supported: true,
      ...extra,
    }) as never,
    clientId: 'app',
    redirectUri: REDIRECT,
    resource: RESOURCE,
    scope: 'mcp:tools',
  })
}

t.test('PKCE S256 (RFC 7636 Appendix B)', async (t) => {
  t.equal(
    pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'),
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  )
  const a = createPkcePair()
  const b = createPkcePair()
  t.not(a.codeVerifier, b.codeVerifier)
  t.match(a.codeVerifier, /^[A-Za-z0-9_-]{43}$/)
  t.equal(a.codeChallenge, pkceChallenge(a.codeVerifier))
  t.equal(a.codeChallengeMethod, 'S256')
})

t.test('the authorization URL: every parameter, the endpoint query kept', async (t) => {
  const p = pending()
  t.same(Object.fromEntries(p.url.searchParams), {
    tenant: 'a',
    response_type: 'code',
    client_id: 'app',
    redirect_uri: REDIRECT,
    code_challenge: pkceChallenge(p.codeVerifier),
    code_challenge_method: 'S256',
    state: p.state,
    resource: RESOURCE,
    scope: 'mcp:tools',
  })
  t.equal(p.url.origin + p.url.pathname, `${ISSUER}/authorize`)
  t.equal(p.issuer, ISSUER)
  t.equal(p.issRequired, true)
  t.not(pending().state, p.state, 'a fresh state each time')
  const noScope = createAuthorizationRequest({
    server: asMetadata(ISSUER) as never,
    clientId: 'app',
    redirectUri: REDIRECT,
    resource: RESOURCE,
    state: 'given',
  })
  t.equal(noScope.url.searchParams.get('scope'), null)
  t.equal(noScope.state, 'given')
  t.equal(noScope.issRequired, false)
})

t.test('the server must offer what the request needs', async (t) => {
  const make =
    (server: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    () =>
      createAuthorizationRequest({
        server,
        clientId: 'app',
        redirectUri: REDIRECT,
        resource: RESOURCE,
        ...extra,
      } as never)
  t.throws(make(asMetadata(ISSUER, { code_challenge_methods_supported: undefined })), {
    code: 'ERR_UNSUPPORTED_BY_SERVER',
    message: /S256/,
  })
  t.throws(make(asMetadata(ISSUER, { code_challenge_methods_supported: ['plain'] })), {
    code: 'ERR_UNSUPPORTED_BY_SERVER',
  })
  t.throws(make(asMetadata(ISSUER, { authorization_endpoint: undefined })), {
    code: 'ERR_UNSUPPORTED_BY_SERVER',
  })
  t.throws(
    make(asMetadata(ISSUER, { authorization_endpoint: 'http://as.example.com/authorize' })),
    { code: 'ERR_INVALID_RESPONSE' },
  )
  t.throws(make(asMetadata(ISSUER), { resource: '' }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /resource/,
  })
  t.throws(make(asMetadata(ISSUER), { redirectUri: 'http://evil.example/cb' }), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
  t.throws(make(asMetadata(ISSUER), { scope: '' }), { message: /scope/ })
  t.throws(make(asMetadata(ISSUER), { nonce: 'x' }), { message: /not a known option/ })
  t.throws(make(null as never), { message: /options.server/ })
})

t.test('the authorization response: RFC 9207, state, error, code', async (t) => {
  const p = pending()
  const callback = (params: Record<string, string>, base = REDIRECT) => {
    const url = new URL(base)
    for (const [k, v] of Object.entries(params)) url.searchParams.append(k, v)
    return url
  }
  t.equal(readAuthorizationResponse(p, callback({ code: 'c1', state: p.state, iss: ISSUER })), 'c1')
  t.equal(
    readAuthorizationResponse(p, callback({ code: 'c1', state: p.state, iss: ISSUER }).href),
    'c1',
  )
  t.equal(
    readAuthorizationResponse(p, new URLSearchParams({ code: 'c1', state: p.state, iss: ISSUER })),
    'c1',
  )

  const cases: [string, Record<string, string>, string][] = [
    [
      'iss of another server',
      { code: 'c', state: p.state, iss: 'https://evil.example' },
      'ERR_ISS_MISMATCH',
    ],
    [
      'iss with a trailing slash',
      { code: 'c', state: p.state, iss: `${ISSUER}/` },
      'ERR_ISS_MISMATCH',
    ],
    [
      'iss in another case',
      { code: 'c', state: p.state, iss: ISSUER.toUpperCase() },
      'ERR_ISS_MISMATCH',
    ],
    ['iss missing though advertised', { code: 'c', state: p.state }, 'ERR_ISS_MISSING'],
    [
      'iss checked before the error',
      { error: 'access_denied', state: p.state, iss: 'https://evil.example' },
      'ERR_ISS_MISMATCH',
    ],
    ['state mismatch', { code: 'c', state: 'forged', iss: ISSUER }, 'ERR_STATE_MISMATCH'],
    ['state missing', { code: 'c', iss: ISSUER }, 'ERR_STATE_MISMATCH'],
    [
      'error',
      {
        error: 'access_denied',
        error_description: 'no',
        error_uri: 'https://e',
        state: p.state,
        iss: ISSUER,
      },
      'ERR_AUTHORIZATION_ERROR',
    ],
    ['no code', { state: p.state, iss: ISSUER }, 'ERR_CODE_MISSING'],
    ['empty code', { code: '', state: p.state, iss: ISSUER }, 'ERR_CODE_MISSING'],
  ]
  for (const [name, params, code] of cases) {
    t.throws(() => readAuthorizationResponse(p, callback(params)), { code }, name)
  }
  const refused = (() => {
    try {
      return readAuthorizationResponse(
        p,
        callback({
          error: 'access_denied',
          error_description: 'no',
          error_uri: 'https://e',
          state: p.state,
          iss: ISSUER,
        }),
      )
    } catch (error) {
      return error
    }
  })()
  t.match(refused, {
    oauthError: { error: 'access_denied', error_description: 'no', error_uri: 'https://e' },
    errorDescription: 'no',
    errorUri: 'https://e',
  })
  // Repeated parameters and foreign callbacks.
  const twice = callback({ code: 'c', state: p.state, iss: ISSUER })
  twice.searchParams.append('code', 'c2')
  t.throws(() => readAuthorizationResponse(p, twice), {
    code: 'ERR_INVALID_RESPONSE',
    message: /repeats code/,
  })
  t.throws(
    () =>
      readAuthorizationResponse(
        p,
        callback({ code: 'c', state: p.state, iss: ISSUER }, 'http://127.0.0.1:8977/callback'),
      ),
    {
      code: 'ERR_INVALID_RESPONSE',
    },
  )
  t.throws(() => readAuthorizationResponse(p, 'not a url'), { code: 'ERR_INVALID_RESPONSE' })

  // A server that does not advertise RFC 9207: a missing iss is accepted, a wrong one is not.
  const lax = pending({ authorization_response_iss_parameter_supported: false })
  t.equal(readAuthorizationResponse(lax, callback({ code: 'c', state: lax.state })), 'c')
  t.throws(
    () =>
      readAuthorizationResponse(
        lax,
        callback({ code: 'c', state: lax.state, iss: 'https://evil.example' }),
      ),
    {
      code: 'ERR_ISS_MISMATCH',
    },
  )
})

t.test('followAuthorizationRedirects: hops, cookies, the callback not requested', async (t) => {
  const s = await startServer(t)
  s.route('/authorize', {
    status: 303,
    headers: { location: '/interaction/1', 'set-cookie': 'sid=abc; Path=/; HttpOnly' },
  })
  s.route('/interaction/1', (request) =>
    request.headers.cookie === 'sid=abc'
      ? { status: 302, headers: { location: '/resume', 'set-cookie': 'step=2' } }
      : { status: 400 },
  )
  s.route('/resume', (request) =>
    request.headers.cookie === 'sid=abc; step=2'
      ? { status: 302, headers: { location: `${s.origin}/cb?code=c&state=s` } }
      : { status: 400 },
  )
  const callback = await followAuthorizationRedirects(`${s.origin}/authorize?x=1`, {
    redirectUri: `${s.origin}/cb`,
    headers: { 'x-test': '1' },
  })
  t.equal(callback.href, `${s.origin}/cb?code=c&state=s`)
  t.equal(s.hits('/cb').length, 0, 'the callback itself is not requested')
  t.equal(s.hits('/authorize')[0]?.headers['x-test'], '1')

  s.route('/authorize', { status: 200, body: '<form>login</form>' })
  await t.rejects(
    followAuthorizationRedirects(`${s.origin}/authorize`, { redirectUri: `${s.origin}/cb` }),
    {
      code: 'ERR_UNEXPECTED_STATUS',
      status: 200,
    },
  )
  s.route('/authorize', { status: 302, headers: { location: '/authorize' } })
  await t.rejects(
    followAuthorizationRedirects(`${s.origin}/authorize`, {
      redirectUri: `${s.origin}/cb`,
      maxRedirects: 3,
    }),
    {
      code: 'ERR_UNEXPECTED_STATUS',
      message: /More than 3 redirects/,
    },
  )
  t.equal(s.hits('/authorize').length, 1 + 1 + 4)
  s.route('/authorize', { status: 302, headers: { location: 'javascript:alert(1)' } })
  await t.rejects(
    followAuthorizationRedirects(`${s.origin}/authorize`, { redirectUri: `${s.origin}/cb` }),
    { code: 'ERR_INVALID_RESPONSE' },
  )
  s.route('/authorize', { status: 302, headers: { 'set-cookie': 'junk', location: '/authorize2' } })
  s.route('/authorize2', () => new Promise(() => undefined))
  await t.rejects(
    followAuthorizationRedirects(`${s.origin}/authorize`, {
      redirectUri: `${s.origin}/cb`,
      timeout: 50,
    }),
    {
      code: 'ERR_REQUEST_TIMEOUT',
    },
  )
  await t.rejects(
    followAuthorizationRedirects('http://127.0.0.1:1/authorize', { redirectUri: `${s.origin}/cb` }),
    { code: 'ERR_REQUEST_FAILED' },
  )
  const controller = new AbortController()
  const aborted = followAuthorizationRedirects(`${s.origin}/authorize2`, {
    redirectUri: `${s.origin}/cb`,
    signal: controller.signal,
  })
  setImmediate(() => controller.abort(new Error('stopped')))
  await t.rejects(aborted, { message: 'stopped' })
  await t.rejects(
    followAuthorizationRedirects(`${s.origin}/authorize`, {
      redirectUri: `${s.origin}/cb`,
      headers: { a: 1 },
    } as never),
    {
      code: 'ERR_INVALID_ARG_VALUE',
    },
  )
  await t.rejects(followAuthorizationRedirects(`${s.origin}/authorize`, {} as never), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
})

t.test(
  'followAuthorizationRedirects: extra headers stay with the authorization origin',
  async (t) => {
    const a = await startServer(t)
    const b = await startServer(t)
    a.route('/authorize', { status: 302, headers: { location: `${b.origin}/login` } })
    b.route('/login', { status: 302, headers: { location: `${a.origin}/cb?code=c` } })
    await followAuthorizationRedirects(`${a.origin}/authorize`, {
      redirectUri: `${a.origin}/cb`,
      headers: { authorization: 'Basic dGVzdA==' },
    })
    t.equal(a.hits('/authorize')[0]?.headers.authorization, 'Basic dGVzdA==')
    t.equal(b.hits('/login')[0]?.headers.authorization, undefined)
  },
)

t.test(
  'followAuthorizationRedirects: a custom fetch that ignores its signal is still bounded',
  async (t) => {
    const redirectUri = 'http://127.0.0.1:9/cb'
    // A fetch that never settles and never looks at its AbortSignal.
    const never: typeof fetch = () => new Promise<Response>(() => undefined)
    await t.rejects(
      followAuthorizationRedirects('http://127.0.0.1:9/authorize', {
        redirectUri,
        fetch: never,
        timeout: 20,
      }),
      { code: 'ERR_REQUEST_TIMEOUT' },
    )
    // A redirect whose body cannot be cancelled: cancel() never settles.
    const stuckBody: typeof fetch = () =>
      Promise.resolve(
        new Response(
          new ReadableStream({
            cancel: () => new Promise<void>(() => undefined),
          }),
          { status: 302, headers: { location: `${redirectUri}?code=c` } },
        ),
      )
    await t.rejects(
      followAuthorizationRedirects('http://127.0.0.1:9/authorize', {
        redirectUri,
        fetch: stuckBody,
        timeout: 20,
      }),
      { code: 'ERR_REQUEST_TIMEOUT' },
    )
    // The caller's abort ends the wait too, and one given already aborted sends nothing.
    const controller = new AbortController()
    const waiting = followAuthorizationRedirects('http://127.0.0.1:9/authorize', {
      redirectUri,
      fetch: never,
      signal: controller.signal,
    })
    setImmediate(() => controller.abort(new Error('stopped')))
    await t.rejects(waiting, { message: 'stopped' })
    let calls = 0
    const counting: typeof fetch = () => {
      calls++
      return new Promise<Response>(() => undefined)
    }
    await t.rejects(
      followAuthorizationRedirects('http://127.0.0.1:9/authorize', {
        redirectUri,
        fetch: counting,
        signal: AbortSignal.abort(new Error('before')),
      }),
      { message: 'before' },
    )
    t.equal(calls, 0, 'no request after an abort')
  },
)

t.test('a callback that is not a URL: refused without quoting it anywhere', async (t) => {
  const p = pending()
  // What a host gets from node:http's request.url: a path, not an absolute URL.
  const relative = `/callback?code=secret-code-123&state=${p.state}&iss=${ISSUER}`
  const error = (() => {
    try {
      return readAuthorizationResponse(p, relative)
    } catch (error) {
      return error
    }
  })()
  t.match(error, { code: 'ERR_INVALID_RESPONSE', message: /not a URL/ })
  t.notMatch(inspect(error), /secret-code-123/, 'the code is not in the error or its cause')
  t.notMatch(inspect(error), new RegExp(p.state), 'nor the state')
})
