import diagnostics from 'node:diagnostics_channel'
import { TextEncoder, inspect } from 'node:util'
import {
  BearerError,
  InsufficientScopeError,
  InvalidRequestError,
  MissingTokenError,
  Refusal,
  TokenKey,
  VerifierUnavailableError,
  createCachedVerifier,
  defineVerifier,
  processTokenKey,
  type AccessToken,
  type TokenVerifier,
  type VerifyOptions,
} from '@bearerkit/core'
import t from 'tap'
import {
  HTTP_CHANNEL,
  authorizationFromRawHeaders,
  createBearerGate,
  createProtectedResourceMetadata,
  protectedResourceMetadataUrl,
  toWebResponse,
  type BearerGateOptions,
  type GateAccepted,
  type GateEvent,
  type GateRefused,
  type GateResult,
} from '../src/index.js'
import {
  ISSUER,
  METADATA_URL,
  RESOURCE,
  TOKENS,
  accessToken,
  conformanceOptions,
} from './fixtures/conformance.js'

const RM = `resource_metadata="${METADATA_URL}"`
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

function refused(result: GateResult): GateRefused {
  if (result.kind !== 'refused') throw new Error(`expected a refusal, got ${result.kind}`)
  return result
}

function accepted(result: GateResult): GateAccepted {
  if (result.kind !== 'accepted') throw new Error(`expected an acceptance, got ${result.kind}`)
  return result
}

const get = (headers: Record<string, string | string[]> = {}, url = '/mcp') => ({
  method: 'GET',
  url,
  headers,
})

t.test('preflights pass only when the adapter says no handler runs', async (t) => {
  const gate = createBearerGate(conformanceOptions())
  const preflight = {
    method: 'OPTIONS',
    url: '/mcp',
    headers: { 'access-control-request-method': 'GET', origin: 'https://app.example.com' },
  }
  t.equal((await gate.authenticate({ ...preflight, noHandlerRuns: true })).kind, 'preflight')
  t.equal(
    refused(await gate.authenticate(preflight)).response.status,
    401,
    'default: a handler runs',
  )
  t.equal(
    refused(await gate.authenticate({ ...preflight, noHandlerRuns: false })).reason,
    'missing_token',
  )
  const plain = { method: 'OPTIONS', url: '/mcp', headers: {}, noHandlerRuns: true }
  t.equal(refused(await gate.authenticate(plain)).response.status, 401, 'not a preflight')
})

t.test('form bodies: pending, then checkBody', async (t) => {
  const gate = createBearerGate(conformanceOptions())
  const pending = await gate.authenticate({
    method: 'POST',
    url: '/mcp',
    headers: FORM,
    bodyPending: true,
  })
  if (pending.kind !== 'pending') throw new Error('expected pending')
  t.same(pending.scopes, ['read'])
  const withToken = refused(
    gate.checkBody({ method: 'POST', headers: FORM, body: { access_token: 'x' } }, pending),
  )
  t.equal(withToken.reason, 'token_in_body')
  t.equal(withToken.error.message, 'Access tokens are accepted only in the Authorization header')
  const without = refused(gate.checkBody({ method: 'POST', headers: FORM, body: {} }, pending))
  t.equal(without.reason, 'missing_token')
  t.equal(without.response.status, 401)

  const ok = accepted(
    await gate.authenticate({
      method: 'POST',
      url: '/mcp',
      headers: { ...FORM, authorization: `Bearer ${TOKENS.good}` },
      bodyPending: true,
    }),
  )
  const twice = refused(
    gate.checkBody(
      { method: 'POST', headers: FORM, body: new URLSearchParams('access_token=x') },
      ok,
    ),
  )
  t.equal(twice.error.message, 'The access token must be sent in one place only')
  t.equal(gate.checkBody({ method: 'POST', headers: FORM, body: 'a=1' }, ok), ok)
  t.equal(
    gate.checkBody({ method: 'POST', headers: {}, body: { access_token: 'x' } }, ok),
    ok,
    'not a form: a JSON body is not an RFC 6750 method',
  )
  const form = new FormData()
  form.set('access_token', 'x')
  t.equal(
    refused(gate.checkBody({ method: 'POST', headers: FORM, body: form }, ok)).reason,
    'token_in_body',
  )
  for (const body of [null, 42, 'access_token=x']) {
    const result = gate.checkBody({ method: 'POST', headers: FORM, body }, ok)
    t.equal(result.kind, body === 'access_token=x' ? 'refused' : 'accepted', String(body))
  }
  const noPending = refused(await gate.authenticate({ method: 'POST', url: '/mcp', headers: FORM }))
  t.equal(noPending.reason, 'missing_token', 'without bodyPending there is no waiting')
})

t.test('Headers, records, raw header lists', async (t) => {
  const gate = createBearerGate(conformanceOptions())
  const web = new Headers({ authorization: `Bearer ${TOKENS.good}` })
  t.equal((await gate.authenticate({ method: 'GET', url: '/mcp', headers: web })).kind, 'accepted')
  t.equal(
    (await gate.authenticate(get({ authorization: [`Bearer ${TOKENS.good}`] }))).kind,
    'accepted',
    'a one-element array is one header',
  )
  t.equal(refused(await gate.authenticate(get({ authorization: [] }))).reason, 'missing_token')
  t.equal(
    refused(
      await gate.authenticate({
        ...get({ authorization: `Bearer ${TOKENS.good}` }),
        authorization: ['a', 'b'],
      }),
    ).error.message,
    'The Authorization header must be sent once',
    'the adapter-supplied value wins',
  )
  t.equal(authorizationFromRawHeaders(['Host', 'x']), undefined)
  t.equal(authorizationFromRawHeaders(['Authorization', 'a', 'Accept', 'b']), 'a')
  t.same(
    authorizationFromRawHeaders(['authorization', 'a', 'AUTHORIZATION', 'b', 'Authorization', 'c']),
    ['a', 'b', 'c'],
  )
  t.equal(authorizationFromRawHeaders(['Authorization']), undefined, 'a name without a value')
  const absolute = await gate.authenticate(
    get({}, `https://api.example.com/mcp?access_token=${TOKENS.good}`),
  )
  t.equal(refused(absolute).reason, 'token_in_query')
})

t.test('Authorization header shapes', async (t) => {
  const gate = createBearerGate({ ...conformanceOptions(), maxTokenLength: 16 })
  const cases: [string, number, string][] = [
    ['bearer   ' + TOKENS.good, 200, ''],
    ['Bearer 12345678901234567', 400, 'The bearer token is too large'],
    ['Bearer   ', 400, 'The Authorization header carries no token'],
    ['Bearer ,', 400, 'The Authorization header must be sent once'],
    ['Basic, Bearer x', 400, 'The Authorization header must be sent once'],
    ['Basic abc, Bearer', 400, 'The Authorization header must be sent once'],
    ['Basic abc=, Bearer x', 400, 'The Authorization header must be sent once'],
    ['Digest a=1, b = "2"', 401, 'Authentication is required'],
    [' Bearer x', 400, 'The Authorization header is malformed'],
    ['B\u00e9arer x', 400, 'The Authorization header is malformed'],
  ]
  for (const [authorization, status, message] of cases) {
    const result = await gate.authenticate(get({ authorization }))
    if (status === 200) {
      t.equal(result.kind, 'accepted', authorization)
      continue
    }
    t.equal(refused(result).response.status, status, authorization)
    t.equal(refused(result).error.message, message, authorization)
  }
})

t.test('a verifier that misbehaves fails closed', async (t) => {
  const answers: Record<string, () => unknown> = {
    string: () => 'yes',
    object: () => ({ clientId: 42, scopes: [] }),
    sync: () => {
      throw new Error('sync throw')
    },
    undefined: () => undefined,
    array: () => [],
  }
  const verifier = {
    verifyToken(token: string): Promise<AccessToken | null> {
      return Promise.resolve().then(() => answers[token]?.() as AccessToken | null)
    },
  }
  const gate = createBearerGate({ verifier })
  for (const token of ['string', 'object', 'array']) {
    const result = refused(await gate.authenticate(get({ authorization: `Bearer ${token}` })))
    t.equal(result.response.status, 503, token)
    t.same(result.log, { reason: 'verifier_error', statusCode: 503, errorName: 'invalid_result' })
  }
  const thrower: TokenVerifier = {
    verifyToken() {
      throw Object.assign(new Error('x'), { code: 42 })
    },
  }
  const syncGate = createBearerGate({ verifier: thrower })
  const sync = refused(await syncGate.authenticate(get({ authorization: 'Bearer a' })))
  t.same(sync.log, { reason: 'verifier_error', statusCode: 503, errorName: 'Error' })
  t.equal(sync.error.cause, undefined, 'a foreign error is not kept')
  const odd: TokenVerifier = {
    async verifyToken(token) {
      if (token === 'quiet') throw new VerifierUnavailableError()
      if (token === 'coded') throw Object.assign(new Error('x'), { code: 'EX' })
      throw token as unknown as Error
    },
  }
  const oddGate = createBearerGate({ verifier: odd, audience: RESOURCE })
  const logs = []
  for (const token of ['quiet', 'coded', 'string']) {
    logs.push(refused(await oddGate.authenticate(get({ authorization: `Bearer ${token}` }))).log)
  }
  t.same(logs, [
    { reason: 'verifier_unavailable:unavailable', statusCode: 503 },
    { reason: 'verifier_error', statusCode: 503, errorName: 'Error', errorCode: 'EX' },
    { reason: 'verifier_error', statusCode: 503, errorName: 'string' },
  ])
  const none = refused(await gate.authenticate(get({ authorization: 'Bearer undefined' })))
  t.equal(none.reason, 'invalid_token')
  t.equal(none.error.message, 'The access token is invalid')
})

t.test('refusal reasons from the verifier are sanitised', async (t) => {
  const verifier: TokenVerifier = {
    verifyToken(token: string, options?: VerifyOptions) {
      const refusal =
        token === 'weird'
          ? ({ code: 'Bad Code\n', description: '' } as unknown as Refusal)
          : new Refusal('inactive', 'The access token is not active')
      options?.onRefusal?.(refusal)
      return Promise.resolve(null)
    },
  }
  const gate = createBearerGate({ verifier, exposeErrorDescription: false })
  const weird = refused(await gate.authenticate(get({ authorization: 'Bearer weird' })))
  t.equal(weird.reason, 'invalid_token')
  t.equal(weird.error.message, 'The access token is invalid')
  t.equal(weird.response.headers['www-authenticate'], 'Bearer error="invalid_token"')
  t.equal(weird.response.body, '{"error":"invalid_token"}')
  const inactive = refused(await gate.authenticate(get({ authorization: 'Bearer x' })))
  t.equal(inactive.reason, 'inactive')
})

t.test('the signal reaches the verifier', async (t) => {
  let seen: AbortSignal | undefined
  const verifier = defineVerifier('probe', (token, options) => {
    seen = options.signal
    return accessToken(token, { audience: undefined })
  })
  const gate = createBearerGate({ verifier })
  const controller = new AbortController()
  t.equal(
    (await gate.authenticate({ ...get({ authorization: 'Bearer a' }), signal: controller.signal }))
      .kind,
    'accepted',
    'no resource: no audience check',
  )
  t.equal(seen, controller.signal)
  controller.abort(new VerifierUnavailableError('client went away', { reason: 'aborted' }))
  const aborted = refused(
    await gate.authenticate({ ...get({ authorization: 'Bearer a' }), signal: controller.signal }),
  )
  t.equal(aborted.reason, 'verifier_unavailable:aborted')
})

t.test('audience: aud alone decides; explicit values; null', async (t) => {
  const verifier = defineVerifier('aud', (token) =>
    token === 'noaud'
      ? accessToken(token, { audience: undefined, resource: RESOURCE })
      : token === 'odd'
        ? accessToken(token, { audience: 'x' as unknown as string[] })
        : accessToken(token, { audience: [token === 'other' ? 'https://b.example/' : RESOURCE] }),
  )
  const gate = createBearerGate({
    verifier,
    resource: { url: RESOURCE, authorizationServers: [ISSUER] },
  })
  t.equal(
    refused(await gate.authenticate(get({ authorization: 'Bearer noaud' }))).reason,
    'wrong_audience',
  )
  t.equal(
    refused(await gate.authenticate(get({ authorization: 'Bearer odd' }))).reason,
    'wrong_audience',
  )
  t.equal((await gate.authenticate(get({ authorization: 'Bearer ok' }))).kind, 'accepted')
  const explicit = createBearerGate({ verifier, audience: ['https://b.example/'] })
  t.equal((await explicit.authenticate(get({ authorization: 'Bearer other' }))).kind, 'accepted')
  t.equal(
    refused(await explicit.authenticate(get({ authorization: 'Bearer ok' }))).reason,
    'wrong_audience',
  )
  const off = createBearerGate({
    verifier,
    audience: null,
    resource: { url: RESOURCE, authorizationServers: [ISSUER] },
  })
  t.equal((await off.authenticate(get({ authorization: 'Bearer noaud' }))).kind, 'accepted')
  const origin = createBearerGate({
    verifier: defineVerifier('o', (token) =>
      accessToken(token, { audience: ['https://api.example.com'] }),
    ),
    resource: { url: 'https://api.example.com/', authorizationServers: [ISSUER] },
  })
  t.equal((await origin.authenticate(get({ authorization: 'Bearer a' }))).kind, 'accepted')
})

t.test('route scopes, requireScopes and respond', async (t) => {
  const gate = createBearerGate(conformanceOptions())
  const route = Object.freeze(['mcp:tools'])
  const first = refused(
    await gate.authenticate({ ...get({ authorization: `Bearer ${TOKENS.good}` }), scopes: route }),
  )
  t.same(first.log, { reason: 'insufficient_scope', statusCode: 403, missing: ['mcp:tools'] })
  t.equal(first.response.headers['www-authenticate']?.includes('scope="read mcp:tools"'), true)
  const again = refused(
    await gate.authenticate({ ...get({ authorization: `Bearer ${TOKENS.good}` }), scopes: route }),
  )
  t.same(again.error instanceof InsufficientScopeError && again.error.scopes, ['read', 'mcp:tools'])

  const open = createBearerGate({ verifier: conformanceOptions().verifier })
  const routeOnly = refused(
    await open.authenticate({ ...get({ authorization: `Bearer ${TOKENS.good}` }), scopes: route }),
  )
  t.same(routeOnly.log, { reason: 'insufficient_scope', statusCode: 403, missing: ['mcp:tools'] })
  const ok = accepted(await gate.authenticate(get({ authorization: `Bearer ${TOKENS.admin}` })))
  t.equal(gate.requireScopes(ok, []), null)
  t.equal(gate.requireScopes(ok, ['admin']), null)
  const more = gate.requireScopes(ok, ['files:write'], 'HEAD')
  t.equal(more?.response.status, 403)
  t.equal(more?.response.body, null, 'HEAD has no body')
  t.equal(
    more?.response.headers['www-authenticate'],
    `Bearer realm="api", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read files:write", ${RM}`,
  )

  const foreign = gate.respond(new InsufficientScopeError(['mcp:tools', 'admin']))
  t.equal(foreign.status, 403)
  t.match(foreign.headers['www-authenticate'], /scope="mcp:tools admin"/)
  const noScopes = gate.respond(new InsufficientScopeError([]), ['read', 'x'])
  t.match(noScopes.headers['www-authenticate'], /scope="read x"/)
  const bad = gate.respond(new InvalidRequestError('Nope'), ['read'])
  t.equal(
    bad.headers['www-authenticate'],
    `Bearer realm="api", error="invalid_request", error_description="Nope", ${RM}`,
  )
  const missing = gate.respond(new MissingTokenError())
  t.equal(missing.headers['www-authenticate'], `Bearer realm="api", ${RM}`)
  const down = gate.respond(
    new VerifierUnavailableError('db.internal:5432 refused', { retryAfter: 2.5 }),
  )
  t.same(down, {
    status: 503,
    headers: {
      'retry-after': '3',
      'cache-control': 'no-store',
      'content-type': 'application/json; charset=utf-8',
    },
    body: '{"error":"temporarily_unavailable","error_description":"The token verifier is unavailable"}',
  })
  const oddStatus = gate.respond(new BearerError('ERR_MISSING_TOKEN', undefined, 418, 'teapot'))
  t.equal(oddStatus.status, 401, 'the status follows the code')
  t.equal(oddStatus.body, '{"error":"unauthorized","error_description":"teapot"}')
  t.throws(() => gate.respond(new BearerError('ERR_CUSTOM', undefined, 418, 'x')), TypeError)
  const mislabelled = gate.respond(new BearerError('ERR_VERIFIER_UNAVAILABLE', undefined, 500, 'x'))
  t.equal(mislabelled.status, 503, 'the status follows the code')
  t.equal(mislabelled.headers['retry-after'], '5')
  t.throws(() => gate.respond(new Error('plain') as BearerError), TypeError)
  const quiet = createBearerGate({ ...conformanceOptions(), exposeErrorDescription: false })
  t.equal(quiet.respond(new VerifierUnavailableError()).body, '{"error":"temporarily_unavailable"}')
})

t.test('diagnostics: every decision, never the token', async (t) => {
  const events: GateEvent[] = []
  const listener = (event: unknown): void => {
    events.push(event as GateEvent)
  }
  diagnostics.subscribe(HTTP_CHANNEL, listener)
  t.teardown(() => diagnostics.unsubscribe(HTTP_CHANNEL, listener))
  const gate = createBearerGate(conformanceOptions())
  await gate.authenticate(get({ authorization: `Bearer ${TOKENS.good}` }))
  await gate.authenticate(get({ authorization: `Bearer ${TOKENS.expired}` }))
  await gate.authenticate(get({ authorization: `Bearer ${TOKENS.down}` }))
  await gate.authenticate({
    method: 'OPTIONS',
    url: '/mcp',
    headers: { 'access-control-request-method': 'GET' },
    noHandlerRuns: true,
  })
  t.same(events, [
    { outcome: 'accepted', status: 200, clientId: 'client-1' },
    { outcome: 'refused', status: 401, reason: 'expired' },
    { outcome: 'unavailable', status: 503, reason: 'verifier_unavailable:timeout' },
    { outcome: 'preflight', status: 204 },
  ])
  t.notMatch(JSON.stringify(events), 'sEcReT')
})

t.test('options are checked up front', async (t) => {
  const verifier = conformanceOptions().verifier
  const cases: [unknown, string][] = [
    [null, 'options must be an object with a verifier'],
    [{ verifier, requiredScope: [] }, 'options.requiredScope is not a known option'],
    [{ verifier: {} }, 'options.verifier must be a TokenVerifier (an object with verifyToken)'],
    [
      { verifier, requiredScopes: ['a b'] },
      'options.requiredScopes must be an array of scope tokens (RFC 6749 §3.3: no spaces, quotes or backslashes)',
    ],
    [
      { verifier, audience: [] },
      'options.audience must be a non-empty string, a non-empty array of them, or null',
    ],
    [{ verifier, realm: 'a\nb' }, 'options.realm must be a non-empty string of printable ASCII'],
    [{ verifier, metadata: 'yes' }, 'options.metadata must be a boolean or { allowOrigin }'],
    [{ verifier, metadata: { origin: '*' } }, 'options.metadata.origin is not a known option'],
    [{ verifier, metadata: true }, 'options.metadata needs options.resource to describe'],
    [
      { verifier, metadata: { allowOrigin: 'x' } },
      'options.metadata.allowOrigin must be "*", an origin such as "https://app.example.com", or false',
    ],
    [{ verifier, exposeErrorDescription: 1 }, 'options.exposeErrorDescription must be a boolean'],
    [
      { verifier, retryAfter: -1 },
      'options.retryAfter must be a whole number of seconds (0 or more)',
    ],
    [{ verifier, maxTokenLength: 0 }, 'options.maxTokenLength must be a positive whole number'],
  ]
  for (const [options, message] of cases) {
    t.throws(
      () => createBearerGate(options as BearerGateOptions),
      { code: 'ERR_INVALID_ARG_VALUE', message },
      message,
    )
  }
  t.equal(createBearerGate({ verifier, metadata: false }).metadata, null)
  t.equal(
    createBearerGate({
      verifier,
      resource: { url: RESOURCE, authorizationServers: [ISSUER] },
      metadata: false,
    }).metadata,
    null,
  )
  t.equal(
    createBearerGate({
      verifier,
      resource: { url: RESOURCE, authorizationServers: [ISSUER] },
      metadata: { allowOrigin: 'https://app.example.com' },
    }).metadata?.allowOrigin,
    'https://app.example.com',
  )
})

t.test('metadata answers', async (t) => {
  t.equal(
    protectedResourceMetadataUrl('https://api.example.com/'),
    'https://api.example.com/.well-known/oauth-protected-resource',
  )
  const metadata = createProtectedResourceMetadata({
    resource: { url: RESOURCE, authorizationServers: [ISSUER], resourceName: 'Example' },
    allowOrigin: false,
  })
  t.equal(metadata.url, METADATA_URL)
  const path = '/.well-known/oauth-protected-resource/mcp'
  t.equal(
    metadata.respond({ method: 'OPTIONS', url: path, headers: {} }),
    null,
    'no CORS: no preflight',
  )
  t.equal(metadata.respond({ method: 'POST', url: path, headers: {} }), null)
  t.equal(metadata.respond({ method: 'GET', url: '/elsewhere', headers: {} }), null)
  t.equal(metadata.respond({ method: 'GET', url: 'not a url', headers: {} }), null)
  const head = metadata.respond({
    method: 'HEAD',
    url: `https://api.example.com${path}?x=1`,
    headers: {},
  })
  t.same(head, {
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: null,
  })
  const web = toWebResponse(
    metadata.respond({ method: 'GET', url: path, headers: {} }) ?? {
      status: 500,
      headers: {},
      body: null,
    },
  )
  t.same(await web.json(), {
    resource: RESOURCE,
    authorization_servers: [ISSUER],
    bearer_methods_supported: ['header'],
    resource_name: 'Example',
  })
  for (const [options, message] of [
    [null, 'options must be an object with a resource'],
    [
      { resource: { url: RESOURCE, authorizationServers: [ISSUER] }, origin: '*' },
      'options.origin is not a known option',
    ],
    [
      { resource: { url: RESOURCE, authorizationServers: [] } },
      'options.resource.authorizationServers must be a non-empty array of authorization server issuer URLs',
    ],
  ] as const) {
    t.throws(() => createProtectedResourceMetadata(options as never), { message })
  }
})

t.test('a reused accepted token is checked again: syntax and verifier', async (t) => {
  const calls: string[] = []
  const verifier = defineVerifier('count', (token) => {
    calls.push(token)
    return token === 'revoked' ? new Refusal('inactive', 'gone') : accessToken(token)
  })
  const gate = createBearerGate({ verifier, maxTokenLength: 8 })
  t.equal((await gate.authenticate(get({ authorization: 'Bearer abc' }))).kind, 'accepted')
  t.equal((await gate.authenticate(get({ authorization: 'Bearer  abc' }))).kind, 'accepted')
  t.equal(
    refused(await gate.authenticate(get({ authorization: 'Bearer ab"c' }))).response.status,
    400,
  )
  t.equal(
    refused(await gate.authenticate(get({ authorization: 'Bearer abcdefghi' }))).response.status,
    400,
  )
  t.equal(
    refused(await gate.authenticate(get({ authorization: 'Bearer revoked' }))).reason,
    'inactive',
  )
  t.same(calls, ['abc', 'abc', 'revoked'], 'every token that passes reaches the verifier')
})

t.test('a reused token is scanned again, not compared with the last one', async (t) => {
  // An early-exit comparison (===) of the client's token with the last accepted one would time
  // how much of another client's token it guessed: the same token must be scanned again.
  const verifier = defineVerifier('any', (token) => accessToken(token))
  const gate = createBearerGate({ verifier })
  const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'
  let scans = 0
  // core's isB64Token reads the token's bytes through TextEncoder#encodeInto.
  const descriptor = Object.getOwnPropertyDescriptor(
    TextEncoder.prototype,
    'encodeInto',
  ) as PropertyDescriptor
  const original = descriptor.value as TextEncoder['encodeInto']
  t.teardown(() => {
    Object.defineProperty(TextEncoder.prototype, 'encodeInto', descriptor)
  })
  Object.defineProperty(TextEncoder.prototype, 'encodeInto', {
    ...descriptor,
    value: function (this: TextEncoder, input: string, into: Uint8Array) {
      if (input === token) scans++
      return original.call(this, input, into)
    },
  })
  t.equal((await gate.authenticate(get({ authorization: `Bearer ${token}` }))).kind, 'accepted')
  const first = scans
  t.ok(first > 0, 'a new token is scanned')
  t.equal((await gate.authenticate(get({ authorization: `Bearer ${token}` }))).kind, 'accepted')
  t.equal(scans - first, first, 'the same token is scanned as often the second time')
})

t.test(
  'an accepted plain token from any verifier prints a fingerprint, never the token',
  async (t) => {
    const token = 'zQ9xSecretTokenValue.c2VjcmV0.c2ln'
    // A TokenVerifier written by hand (not through defineVerifier) answering a frozen plain object.
    const verifier: TokenVerifier = { verifyToken: async (raw) => accessToken(raw) }
    const gate = createBearerGate({ verifier })
    const result = accepted(await gate.authenticate(get({ authorization: `Bearer ${token}` })))
    t.equal(result.accessToken.token, token)
    t.same(result.principal, ['client-1', ISSUER, 'alice'])
    for (const text of [
      JSON.stringify(result.accessToken),
      JSON.stringify({ request: result }),
      inspect(result, { depth: 10 }),
    ]) {
      t.notOk(text.includes('zQ9xSecret'), text.slice(0, 40))
    }
    t.match(JSON.parse(JSON.stringify(result.accessToken)), {
      tokenFingerprint: /^sha256:[0-9a-f]{16}$/,
      clientId: 'client-1',
      audience: [RESOURCE],
    })
  },
)

t.test(
  'authenticateNow answers at once when nothing is awaited, and agrees with authenticate',
  async (t) => {
    let calls = 0
    const inner = defineVerifier('inner', async (token) => {
      calls++
      return token === 'good' ? accessToken(token) : new Refusal('rejected', 'no')
    })
    const gate = createBearerGate({
      verifier: createCachedVerifier(inner),
      resource: { url: RESOURCE, authorizationServers: [ISSUER] },
    })
    const first = gate.authenticateNow(get({ authorization: 'Bearer good' }))
    t.ok(first instanceof Promise, 'a miss waits for the verifier')
    t.equal((await first).kind, 'accepted')
    const hit = gate.authenticateNow(get({ authorization: 'Bearer good' }))
    t.notOk(hit instanceof Promise, 'a verified-token cache hit is decided at once')
    t.equal((hit as GateResult).kind, 'accepted')
    t.equal((hit as GateAccepted).accessToken.token, 'good')
    t.same((hit as GateAccepted).principal, ['client-1', ISSUER, 'alice'])
    t.equal(calls, 1)
    // Refusals decided from the request itself are at once too, with the same answers.
    const cases: Record<string, string>[] = [
      {},
      { authorization: 'Basic abc' },
      { authorization: 'Bearer a b' },
    ]
    for (const headers of cases) {
      const now = gate.authenticateNow(get(headers))
      t.notOk(now instanceof Promise)
      t.same(now, await gate.authenticate(get(headers)))
    }
    const bad = await gate.authenticateNow(get({ authorization: 'Bearer bad' }))
    t.equal(bad.kind, 'refused')
    t.equal((bad as GateRefused).response.status, 401)
    // authenticate keeps its contract: always a promise.
    t.ok(gate.authenticate(get({ authorization: 'Bearer good' })) instanceof Promise)
  },
)

t.test('a verifier answer without claims is an untrusted result: 503, never a crash', async (t) => {
  const verifier: TokenVerifier = {
    verifyToken: async (token: string) =>
      ({ token, clientId: 'c', scopes: [], claims: null }) as unknown as AccessToken,
  }
  const gate = createBearerGate({ verifier })
  const result = (await gate.authenticate(get({ authorization: 'Bearer tok' }))) as GateRefused
  t.equal(result.kind, 'refused')
  t.equal(result.response.status, 503)
  t.equal(result.reason, 'verifier_error')
  t.same(result.log, { reason: 'verifier_error', statusCode: 503, errorName: 'invalid_result' })
})

t.test(
  'the verifier gets the token key the gate computed while it checked the syntax',
  async (t) => {
    const seen: unknown[] = []
    const verifier: TokenVerifier = {
      verifyToken: async (token: string, options?: VerifyOptions) => {
        seen.push(options?.tokenKey)
        t.equal(TokenKey.of(token, options?.tokenKey), processTokenKey(token))
        return accessToken(token)
      },
    }
    const gate = createBearerGate({ verifier })
    const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'
    t.equal((await gate.authenticate(get({ authorization: `Bearer ${token}` }))).kind, 'accepted')
    t.equal(seen.length, 1)
    t.ok(seen[0] instanceof TokenKey)
    t.equal((seen[0] as TokenKey).token, token)
  },
)
