import t from 'tap'
import {
  InvalidTokenError as SdkInvalidTokenError,
  InsufficientScopeError as SdkInsufficientScopeError,
  ServerError as SdkServerError,
} from '@modelcontextprotocol/sdk/server/auth/errors.js'
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js'
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js'
import {
  Refusal,
  VerifierUnavailableError,
  accessTokenFromClaims,
  defineVerifier,
  type AccessToken,
  type TokenVerifier,
} from '@bearerkit/core'
import {
  createMemoryProvider,
  fromAuthInfo,
  fromMcpTokenVerifier,
  toAuthInfo,
  toMcpTokenVerifier,
  type McpAuthInfo,
  type McpTokenVerifier,
} from '../src/index.js'
import { RESOURCE, START, codeFlow, confidentialClient, manualClock } from './fixtures/flow.js'

const now = (): number => START

function accessToken(claims: Record<string, unknown>, token = 'tok-1'): AccessToken {
  const result = accessTokenFromClaims(token, claims)
  if (result instanceof Refusal) throw new Error(result.description)
  return result
}

const full = accessToken({
  client_id: 'client-a',
  scope: 'read write',
  exp: START / 1000 + 60,
  sub: 'alice',
  iss: 'https://as.example.com',
  aud: ['https://api.example.com', RESOURCE],
  resource: 'https://api.example.com',
  act: { sub: 'agent' },
})

t.test('the structural types match the SDK types both ways', async (t) => {
  const info: AuthInfo = toAuthInfo(full)
  const back: McpAuthInfo = info
  const sdkVerifier: OAuthTokenVerifier = toMcpTokenVerifier(defineVerifier('x', async () => full))
  const ours: McpTokenVerifier = sdkVerifier
  t.ok(back && ours)
})

t.test('toAuthInfo maps every member', async (t) => {
  const info = toAuthInfo(full)
  t.equal(info.token, 'tok-1')
  t.equal(info.clientId, 'client-a')
  t.same(info.scopes, ['read', 'write'])
  t.notOk(Object.isFrozen(info.scopes), 'a fresh array the SDK may use freely')
  t.equal(info.expiresAt, START / 1000 + 60)
  t.ok(info.resource instanceof URL)
  t.equal(info.resource?.href, 'https://api.example.com/')
  t.same(info.extra, {
    subject: 'alice',
    issuer: 'https://as.example.com',
    audience: ['https://api.example.com', RESOURCE],
    claims: full.claims,
  })
  const minimal = toAuthInfo(accessToken({ client_id: 'c' }))
  t.same(minimal, {
    token: 'tok-1',
    clientId: 'c',
    scopes: [],
    extra: { claims: { client_id: 'c' } },
  })
  const urn = toAuthInfo(accessToken({ client_id: 'c', resource: 'not a url' }))
  t.equal(urn.resource, undefined, 'a resource that is not a URL is left out')
})

t.test('fromAuthInfo inverts toAuthInfo, the resource standing for the audience', async (t) => {
  const back = fromAuthInfo(toAuthInfo(full))
  const claims: Record<string, unknown> = { ...full.claims }
  delete claims.aud
  const members: Record<string, unknown> = { ...full, claims }
  delete members.audience
  t.same({ ...back, claims: { ...back.claims } }, members)
  t.equal(back.resource, 'https://api.example.com', 'the original spelling, not the URL href')
  t.ok(Object.isFrozen(back))
  const minimal = accessToken({ client_id: 'c' })
  t.same(fromAuthInfo(toAuthInfo(minimal)), minimal)
  // A token restricted by a single aud travels as AuthInfo.resource and comes back as resource.
  const jwtLike = accessToken({ client_id: 'c', aud: RESOURCE })
  t.equal(toAuthInfo(jwtLike).resource?.href, RESOURCE)
  t.equal(fromAuthInfo(toAuthInfo(jwtLike)).resource, RESOURCE)
  // Several audiences and no resource: nothing to name, the SDK's expectedResource refuses it.
  t.equal(
    toAuthInfo(accessToken({ client_id: 'c', aud: ['https://a.example/', RESOURCE] })).resource,
    undefined,
  )
})

t.test('fromAuthInfo reads a foreign AuthInfo', async (t) => {
  const result = fromAuthInfo({
    token: 'tok-9',
    clientId: 'sdk-client',
    scopes: ['mcp:tools'],
    expiresAt: 2_000_000_000,
    resource: new URL('https://mcp.example.com/mcp'),
    extra: { tenant: 't-1', subject: 'bob' },
  })
  t.same(
    { ...result, claims: { ...result.claims } },
    {
      token: 'tok-9',
      clientId: 'sdk-client',
      scopes: ['mcp:tools'],
      expiresAt: 2_000_000_000,
      subject: 'bob',
      resource: 'https://mcp.example.com/mcp',
      claims: {
        tenant: 't-1',
        client_id: 'sdk-client',
        scope: 'mcp:tools',
        exp: 2_000_000_000,
        sub: 'bob',
        resource: 'https://mcp.example.com/mcp',
      },
    },
  )
  // A resource that differs from the claimed one: the AuthInfo's own member wins.
  const mixed = fromAuthInfo({
    token: 't',
    clientId: 'c',
    scopes: [],
    resource: new URL('https://a.example/'),
    extra: { claims: { resource: 'https://b.example/' } },
  })
  t.equal(mixed.resource, 'https://a.example/')
  t.same(fromAuthInfo({ token: 't', clientId: 'c', scopes: [] }).claims, { client_id: 'c' })
})

t.test('fromAuthInfo refuses malformed input with a TypeError', async (t) => {
  const base = { token: 't', clientId: 'c', scopes: [] as string[] }
  const cases: Array<[unknown, RegExp]> = [
    [null, /not an object/],
    ['t', /not an object/],
    [{ ...base, token: '' }, /token/],
    [{ ...base, token: 5 }, /token/],
    [{ ...base, clientId: '' }, /clientId/],
    [{ ...base, scopes: 'a b' }, /scopes/],
    [{ ...base, scopes: ['a b'] }, /scopes/],
    [{ ...base, expiresAt: '1' }, /expiresAt/],
    [{ ...base, resource: 'https://a.example' }, /resource is not a URL/],
    [{ ...base, extra: [] }, /extra is not an object/],
    [{ ...base, extra: 'x' }, /extra is not an object/],
    [{ ...base, extra: { subject: 1 } }, /subject/],
    [{ ...base, extra: { issuer: [] } }, /issuer/],
    [{ ...base, extra: { claims: 'x' } }, /claims/],
  ]
  for (const [input, message] of cases) {
    t.throws(() => fromAuthInfo(input as McpAuthInfo), {
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_VALUE',
      message,
    })
  }
  t.throws(() => fromAuthInfo({ ...base, extra: { claims: { sub: 1 } } }), {
    message: /^authInfo claims are malformed/,
  })
})

const sdkVerifier = (answer: () => Promise<AuthInfo>): OAuthTokenVerifier => ({
  verifyAccessToken: answer,
})

const good = (fields: Partial<AuthInfo> = {}): AuthInfo => ({
  token: 'tok-1',
  clientId: 'client-a',
  scopes: ['read'],
  expiresAt: START / 1000 + 60,
  resource: new URL(RESOURCE),
  ...fields,
})

async function outcome(verifier: TokenVerifier, token = 'tok-1'): Promise<string> {
  let code: string | undefined
  try {
    const result = await verifier.verifyToken(token, { onRefusal: (r) => (code = r.code) })
    return result === null ? `refused:${code}` : `accepted:${result.clientId}`
  } catch (error) {
    const e = error as VerifierUnavailableError
    return `${e.code}:${e.reason}`
  }
}

t.test('fromMcpTokenVerifier: acceptance, and the checks made here', async (t) => {
  const wrap = (info: AuthInfo, options: { requiredScopes?: string[]; audience?: null } = {}) =>
    fromMcpTokenVerifier(
      sdkVerifier(async () => info),
      { audience: RESOURCE, now, ...options },
    )
  t.equal(await outcome(wrap(good())), 'accepted:client-a')
  t.equal(await outcome(wrap(good({ expiresAt: START / 1000 }))), 'refused:expired')
  t.equal(await outcome(wrap(good({ expiresAt: undefined }))), 'accepted:client-a')
  t.equal(
    await outcome(wrap(good({ resource: new URL('https://evil.example/mcp') }))),
    'refused:wrong_audience',
  )
  t.equal(await outcome(wrap(good({ resource: undefined }))), 'refused:wrong_audience')
  t.equal(
    await outcome(wrap(good({ resource: undefined, extra: { audience: [RESOURCE] } }))),
    'refused:wrong_audience',
    'extra never stands in for the resource',
  )
  t.equal(
    await outcome(wrap(good({ resource: undefined }), { audience: null })),
    'accepted:client-a',
  )
  t.equal(await outcome(wrap(good(), { requiredScopes: ['write'] })), 'refused:insufficient_scope')
  const result = await wrap(good({ extra: { subject: 'alice' } })).verifyToken('tok-1')
  t.equal(result?.subject, 'alice')
  t.equal(result?.resource, RESOURCE)
})

t.test('fromMcpTokenVerifier: error mapping', async (t) => {
  const failing = (error: Error) =>
    fromMcpTokenVerifier(
      sdkVerifier(() => Promise.reject(error)),
      {
        audience: RESOURCE,
        now,
      },
    )
  t.equal(
    await outcome(failing(new SdkInvalidTokenError('Token tok-1 is revoked'))),
    'refused:rejected',
  )
  let description: string | undefined
  await failing(new SdkInvalidTokenError('Token tok-1 is revoked')).verifyToken('tok-1', {
    onRefusal: (r) => (description = r.description),
  })
  t.equal(description, 'The access token is invalid', "the SDK's message is not reused")
  // Any other error is an outage, never a refusal and never an acceptance.
  for (const error of [
    new Error('Invalid or expired token'),
    new SdkServerError('boom'),
    new SdkInsufficientScopeError('scope'),
    Object.assign(new TypeError('x'), { errorCode: 'invalid_request' }),
  ]) {
    t.equal(await outcome(failing(error)), 'ERR_VERIFIER_UNAVAILABLE:verifier_error', error.message)
    const e = (await failing(error)
      .verifyToken('tok-1')
      .catch((x: unknown) => x)) as VerifierUnavailableError
    t.equal(e.cause, error)
    t.equal(e.statusCode, 503)
  }
  const own = new VerifierUnavailableError('down', { reason: 'maintenance' })
  t.equal(await outcome(failing(own)), 'ERR_VERIFIER_UNAVAILABLE:maintenance')
  // A synchronous throw is caught the same way.
  const sync = fromMcpTokenVerifier(
    {
      verifyAccessToken: () => {
        throw new SdkInvalidTokenError('x')
      },
    },
    { audience: RESOURCE, now },
  )
  t.equal(await outcome(sync), 'refused:rejected')
})

t.test('fromMcpTokenVerifier: a malformed AuthInfo is an outage', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /not an object/],
    [null, /not an object/],
    [{ ...good(), token: 'tok-2' }, /different token/],
    [{ ...good(), clientId: undefined }, /clientId/],
    [{ ...good(), scopes: 'read' }, /scopes/],
    [{ ...good(), resource: RESOURCE }, /resource is not a URL/],
  ]
  for (const [info, message] of cases) {
    const verifier = fromMcpTokenVerifier(
      sdkVerifier(async () => info as AuthInfo),
      {
        audience: RESOURCE,
        now,
      },
    )
    await t.rejects(verifier.verifyToken('tok-1'), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'invalid_response',
      message,
    })
  }
})

t.test('fromMcpTokenVerifier: abort and construction checks', async (t) => {
  const verifier = fromMcpTokenVerifier(
    sdkVerifier(() => new Promise<AuthInfo>(() => undefined)),
    {
      audience: RESOURCE,
      now,
    },
  )
  const controller = new AbortController()
  const pending = verifier.verifyToken('tok-1', { signal: controller.signal })
  const reason = new Error('gone')
  controller.abort(reason)
  await t.rejects(pending, reason)
  t.throws(() => fromMcpTokenVerifier({} as McpTokenVerifier, { audience: null }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /^verifier /,
  })
  t.throws(() => fromMcpTokenVerifier(null as never, { audience: null }), { message: /^verifier / })
  t.throws(
    () =>
      fromMcpTokenVerifier(
        sdkVerifier(async () => good()),
        {} as { audience: null },
      ),
    { message: /^options\.audience is required/ },
  )
})

t.test('toMcpTokenVerifier: results and errors as the SDK expects them', async (t) => {
  const accepted = toMcpTokenVerifier(defineVerifier('x', async () => full))
  t.same(await accepted.verifyAccessToken('tok-1'), toAuthInfo(full))

  const refused = toMcpTokenVerifier(
    defineVerifier('x', async () => new Refusal('expired', 'The access token "has"\r\nexpired')),
  )
  const invalid = await refused.verifyAccessToken('tok-1').catch((e: unknown) => e)
  t.ok(invalid instanceof SdkInvalidTokenError, "the SDK's own InvalidTokenError")
  t.equal((invalid as SdkInvalidTokenError).message, 'The access token ?has???expired')
  t.same((invalid as SdkInvalidTokenError).toResponseObject(), {
    error: 'invalid_token',
    error_description: 'The access token ?has???expired',
  })

  // A verifier that resolves null without calling onRefusal (not built with defineVerifier).
  const bare = toMcpTokenVerifier({ verifyToken: async () => null })
  await t.rejects(bare.verifyAccessToken('t'), { message: 'The access token is invalid' })

  const down = new VerifierUnavailableError('JWKS request: the request timed out', {
    reason: 'timeout',
  })
  const unavailable = toMcpTokenVerifier(defineVerifier('x', () => Promise.reject(down)))
  const server = await unavailable.verifyAccessToken('tok-1').catch((e: unknown) => e)
  t.ok(server instanceof SdkServerError, "the SDK's own ServerError")
  t.equal((server as Error).message, 'The token verifier is unavailable')
  t.equal((server as Error).cause, down)

  const bug = new RangeError('bug')
  const broken = toMcpTokenVerifier({ verifyToken: () => Promise.reject(bug) })
  const wrapped = await broken.verifyAccessToken('tok-1').catch((e: unknown) => e)
  t.ok(wrapped instanceof SdkServerError)
  t.equal((wrapped as Error).message, 'The token verifier failed')
  t.equal((wrapped as Error).cause, bug)
})

t.test('toMcpTokenVerifier: injected error classes, construction checks', async (t) => {
  class MyInvalid extends Error {}
  class MyServer extends Error {}
  const verifier = toMcpTokenVerifier(
    defineVerifier('x', async () => new Refusal('inactive', 'no')),
    { errors: { InvalidTokenError: MyInvalid, ServerError: MyServer } },
  )
  t.ok((await verifier.verifyAccessToken('t').catch((e: unknown) => e)) instanceof MyInvalid)
  const failingVerifier: TokenVerifier = { verifyToken: () => Promise.reject(new Error('x')) }
  const failing = toMcpTokenVerifier(failingVerifier, {
    errors: { InvalidTokenError: MyInvalid, ServerError: MyServer },
  })
  t.ok((await failing.verifyAccessToken('t').catch((e: unknown) => e)) instanceof MyServer)
  t.throws(() => toMcpTokenVerifier({} as TokenVerifier), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /^verifier /,
  })
  for (const errors of [null, {}, { InvalidTokenError: MyInvalid }, { ServerError: MyServer }]) {
    t.throws(() => toMcpTokenVerifier(failingVerifier, { errors: errors as never }), {
      message: /^options\.errors /,
    })
  }
})

t.test('the reference provider through both adapters', async (t) => {
  const clock = manualClock()
  const provider = createMemoryProvider({ now: clock.now, resources: [RESOURCE] })
  const client = confidentialClient()
  await provider.registerClient(client)
  const token = await codeFlow(provider, client, clock.now)
  // A provider-backed verifier for the SDK, and back again.
  const { createProviderVerifier } = await import('../src/index.js')
  const sdk = toMcpTokenVerifier(
    createProviderVerifier(provider, { audience: RESOURCE, now: clock.now }),
  )
  const info = await sdk.verifyAccessToken(token.access_token)
  t.equal(info.resource?.href, RESOURCE)
  t.equal(info.extra?.subject, 'user')
  const roundTrip = fromMcpTokenVerifier(sdk, { audience: RESOURCE, now: clock.now })
  t.equal((await roundTrip.verifyToken(token.access_token))?.subject, 'user')
  t.equal(await outcome(roundTrip, 'unknown'), 'refused:rejected')
})

t.test(
  'fromMcpTokenVerifier trusts extra.aud over resource (finding 8): resource decides',
  async (t) => {
    const A = 'https://a.example.com/mcp'
    const B = 'https://b.example.com/mcp'
    const verifierFor = (info: AuthInfo) =>
      fromMcpTokenVerifier(
        sdkVerifier(async () => info),
        { audience: A, now },
      )
    const base = { token: 'tok-1', clientId: 'c', scopes: [], expiresAt: START / 1000 + 60 }
    // resource = B, extra claims audience A in every place extra can say it: refused for A.
    for (const extra of [
      { aud: A },
      { audience: [A] },
      { claims: { aud: A } },
      { claims: { aud: [A], resource: A } },
      { audience: [A], claims: { aud: A, resource: A } },
    ]) {
      t.equal(
        await outcome(verifierFor({ ...base, resource: new URL(B), extra })),
        'refused:wrong_audience',
        JSON.stringify(extra),
      )
      // Without a resource, extra alone does not make a token for A either.
      t.equal(
        await outcome(verifierFor({ ...base, extra })),
        'refused:wrong_audience',
        `no resource, ${JSON.stringify(extra)}`,
      )
    }
    const accepted = await verifierFor({
      ...base,
      resource: new URL(A),
      extra: { claims: { aud: B, resource: B, exp: 1 } },
    }).verifyToken('tok-1')
    t.equal(accepted?.resource, A)
    t.equal(accepted?.audience, undefined)
    t.equal(accepted?.claims.aud, undefined, 'no aud from extra')
    t.equal(accepted?.claims.resource, A)
    t.equal(accepted?.claims.exp, START / 1000 + 60, 'exp from the member, not extra')
    // exp in extra never supplies an expiry the AuthInfo does not have.
    const noExp = await verifierFor({
      ...base,
      expiresAt: undefined,
      resource: new URL(A),
      extra: { claims: { exp: 1 } },
    }).verifyToken('tok-1')
    t.equal(noExp?.expiresAt, undefined)
  },
)
