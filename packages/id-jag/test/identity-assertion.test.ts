import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import nock from 'nock'
import t, { type Test } from 'tap'
import { SignJWT, base64url } from 'jose'
import {
  createIdentityAssertionVerifier,
  createMemoryReplayStore,
  verifyIdentityAssertion,
  type IdentityAssertionVerifierOptions,
} from '../src/index.js'
import {
  AS_ISSUER,
  CLIENT_ID,
  IDP,
  OTHER_IDP,
  RESOURCE,
  createIdp,
  mintAssertion,
  type Idp,
} from './fixtures/idp.js'

nock.disableNetConnect()
nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/)
t.teardown(() => {
  nock.cleanAll()
  nock.enableNetConnect()
})

const idp = await createIdp('idp-key')
const other = await createIdp('other-key')
const client = { client_id: CLIENT_ID }

const make = (overrides: Partial<IdentityAssertionVerifierOptions> = {}) =>
  createIdentityAssertionVerifier({
    issuer: AS_ISSUER,
    trustedIssuers: {
      [IDP]: { key: { keys: [idp.publicJwk] } },
      [OTHER_IDP]: { key: { keys: [other.publicJwk] } },
    },
    resources: [RESOURCE],
    ...overrides,
  })

const refused = async (
  t: Test,
  assertion: string | Promise<string>,
  error: string,
  description: RegExp,
  request: Partial<Parameters<ReturnType<typeof make>['verify']>[1]> = {},
  verifier = make(),
): Promise<void> => {
  await t.rejects(
    verifier.verify(await assertion, { client, ...request }),
    { code: 'ERR_OAUTH_TOKEN', error, message: description },
    description.source,
  )
}

const mint = (options: Parameters<typeof mintAssertion>[1] = {}, signer: Idp = idp) =>
  mintAssertion(signer, options)

t.test('a valid assertion yields the grant to issue a token for', async (t) => {
  const grant = await make().verify(await mint({ claims: { jti: 'one' } }), { client })
  t.match(grant, {
    subject: 'alice@example.org',
    clientId: CLIENT_ID,
    issuer: IDP,
    resource: RESOURCE,
    scopes: ['files:read', 'files:write'],
    jti: 'one',
  })
  t.type(grant.assertionExpiresAt, 'number')
  t.ok(Object.isFrozen(grant))
  // Inherits nothing: its prototype is an empty object without a prototype.
  t.same(Reflect.ownKeys(Object.getPrototypeOf(grant.claims) as object), [])
  t.equal(Object.getPrototypeOf(Object.getPrototypeOf(grant.claims) as object), null)
})

t.test('iss must be a trusted identity provider', async (t) => {
  await refused(
    t,
    mint({ claims: { iss: 'https://evil.example' } }),
    'invalid_grant',
    /not from a trusted/,
  )
  await refused(t, mint({ omit: ['iss'] }), 'invalid_grant', /not from a trusted/)
  await refused(t, mint({ claims: { iss: [IDP] } }), 'invalid_grant', /not from a trusted/)
  await refused(t, 'not-a-jwt', 'invalid_grant', /not from a trusted/)
  await refused(t, '', 'invalid_grant', /missing/)
})

t.test('the signature must come from that provider: A claimed, B signed', async (t) => {
  // Claims the first provider but is signed by the second, which is trusted for itself only.
  await refused(
    t,
    mint({ claims: { iss: IDP }, header: { kid: 'idp-key' } }, other),
    'invalid_grant',
    /signature is invalid/,
  )
  await refused(
    t,
    mint({ claims: { iss: IDP }, header: { kid: 'other-key' } }, other),
    'invalid_grant',
    /unknown key/,
  )
  const token = await mint()
  const [h, p] = token.split('.')
  await refused(
    t,
    `${h}.${p}.${base64url.encode(new Uint8Array(64))}`,
    'invalid_grant',
    /signature is invalid/,
  )
})

t.test('typ must be exactly oauth-id-jag+jwt', async (t) => {
  for (const typ of ['JWT', 'at+jwt', 'application/jwt']) {
    await refused(t, mint({ header: { typ } }), 'invalid_grant', /type \(typ\) is not accepted/)
  }
  await refused(
    t,
    mint({ header: { typ: undefined } }),
    'invalid_grant',
    /type \(typ\) is not accepted/,
  )
  // Media-type spellings the JWS layer would treat as equal are still refused: exact match only.
  await refused(
    t,
    mint({ header: { typ: 'application/oauth-id-jag+jwt' } }),
    'invalid_grant',
    /exactly oauth-id-jag\+jwt/,
  )
  await refused(
    t,
    mint({ header: { typ: 'OAUTH-ID-JAG+JWT' } }),
    'invalid_grant',
    /exactly oauth-id-jag\+jwt/,
  )
})

t.test('alg none and algorithm confusion are refused', async (t) => {
  const enc = (v: object): string => base64url.encode(JSON.stringify(v))
  const payload = enc({
    iss: IDP,
    sub: 's',
    aud: AS_ISSUER,
    client_id: CLIENT_ID,
    resource: RESOURCE,
    jti: 'n',
    exp: 9e9,
  })
  await refused(
    t,
    `${enc({ alg: 'none', typ: 'oauth-id-jag+jwt' })}.${payload}.`,
    'invalid_grant',
    /alg none/,
  )
  const hs = await new SignJWT({
    iss: IDP,
    sub: 's',
    aud: AS_ISSUER,
    client_id: CLIENT_ID,
    resource: RESOURCE,
    jti: 'h',
    exp: Math.floor(Date.now() / 1000) + 60,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'oauth-id-jag+jwt' })
    .sign(new TextEncoder().encode(JSON.stringify(idp.publicJwk)))
  await refused(t, hs, 'invalid_grant', /algorithm is not allowed/)
})

t.test('jku, x5u, jwk and x5c never supply a key or cause a request', async (t) => {
  const attacker = await createIdp('idp-key')
  const scope = nock('https://attacker.example')
    .get(/.*/)
    .reply(200, { keys: [attacker.publicJwk] })
  await refused(
    t,
    mint(
      {
        header: {
          jku: 'https://attacker.example/jwks',
          x5u: 'https://attacker.example/x5u',
          jwk: attacker.publicJwk,
        },
      },
      attacker,
    ),
    'invalid_grant',
    /signature is invalid/,
  )
  t.equal(scope.isDone(), false, 'no request was made')
})

t.test('aud must be exactly this authorization server', async (t) => {
  await refused(
    t,
    mint({ claims: { aud: 'https://other-as.example' } }),
    'invalid_grant',
    /not addressed/,
  )
  await refused(t, mint({ claims: { aud: `${AS_ISSUER}/` } }), 'invalid_grant', /not addressed/)
  await refused(
    t,
    mint({ claims: { aud: [AS_ISSUER, 'https://other-as.example'] } }),
    'invalid_grant',
    /not addressed/,
  )
  await refused(t, mint({ omit: ['aud'] }), 'invalid_grant', /not addressed/)
  t.ok(await make().verify(await mint({ claims: { aud: [AS_ISSUER] } }), { client }))
})

t.test('exp, nbf, iat and lifetime are enforced with the clock', async (t) => {
  const now = 1_800_000_000
  const verifier = make({ now: () => now * 1000 })
  const at = (claims: Record<string, unknown>, omit: string[] = []) =>
    mint({ nowSeconds: now, claims, omit })
  await refused(t, at({}, ['exp']), 'invalid_grant', /no valid exp/, {}, verifier)
  await refused(t, at({ exp: String(now + 60) }), 'invalid_grant', /no valid exp/, {}, verifier)
  await refused(t, at({ exp: now - 31, iat: now - 100 }), 'invalid_grant', /expired/, {}, verifier)
  t.ok(
    await verifier.verify(await at({ exp: now - 29, iat: now - 100 }), { client }),
    'within tolerance',
  )
  await refused(t, at({ nbf: now + 31 }), 'invalid_grant', /not valid yet/, {}, verifier)
  await refused(t, at({ nbf: 'soon' }), 'invalid_grant', /not valid yet/, {}, verifier)
  await refused(t, at({ iat: now + 31 }), 'invalid_grant', /issued in the future/, {}, verifier)
  await refused(t, at({ exp: now + 3600 }), 'invalid_grant', /lives longer/, {}, verifier)
  await refused(
    t,
    at({ iat: now - 400, exp: now + 10 }),
    'invalid_grant',
    /lives longer/,
    {},
    verifier,
  )
})

t.test('sub and jti are required', async (t) => {
  await refused(t, mint({ omit: ['sub'] }), 'invalid_grant', /no subject/)
  await refused(t, mint({ claims: { sub: '' } }), 'invalid_grant', /no subject/)
  await refused(t, mint({ claims: { sub: 42 } }), 'invalid_grant', /no subject/)
  await refused(t, mint({ omit: ['jti'] }), 'invalid_grant', /no valid jti/)
  await refused(t, mint({ claims: { jti: 'x'.repeat(257) } }), 'invalid_grant', /no valid jti/)
  await refused(t, mint({ claims: { jti: 7 } }), 'invalid_grant', /no valid jti/)
})

t.test('client_id must be the authenticated client, not what the request says', async (t) => {
  await refused(
    t,
    mint({ claims: { client_id: 'someone-else' } }),
    'invalid_grant',
    /another client/,
  )
  await refused(t, mint({ omit: ['client_id'] }), 'invalid_grant', /another client/)
  await refused(t, mint(), 'invalid_grant', /another client/, { client: { client_id: 'impostor' } })
  await t.rejects(make().verify(await mint(), { client: { client_id: '' } }), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
})

t.test('resource comes from the assertion and must be served here', async (t) => {
  await refused(t, mint({ omit: ['resource'] }), 'invalid_grant', /names no resource/)
  await refused(
    t,
    mint({ claims: { resource: 'https://elsewhere.example/api' } }),
    'invalid_target',
    /not served here/,
  )
  await refused(t, mint(), 'invalid_target', /not the assertion resource/, {
    resource: 'https://elsewhere.example/api',
  })
  const grant = await make().verify(await mint(), { client, resource: RESOURCE })
  t.equal(grant.resource, RESOURCE)
  const byPredicate = make({ resources: async (r) => r.startsWith('https://mcp.example.com/') })
  t.equal((await byPredicate.verify(await mint(), { client })).resource, RESOURCE)
  const denyAll = make({ resources: () => false })
  await refused(t, mint(), 'invalid_target', /not served here/, {}, denyAll)
})

t.test(
  'scopes come from the assertion and the policy, never verbatim from the request',
  async (t) => {
    const v = make()
    t.same((await v.verify(await mint(), { client, scopes: ['files:read', 'admin'] })).scopes, [
      'files:read',
    ])
    t.same((await v.verify(await mint(), { client, scopes: ['admin'] })).scopes, [])
    t.same(
      (await v.verify(await mint({ omit: ['scope'] }), { client, scopes: ['admin'] })).scopes,
      [],
    )
    t.same((await v.verify(await mint(), { client, scopes: [] })).scopes, [
      'files:read',
      'files:write',
    ])
    const seen: unknown[] = []
    const mapped = make({
      scopePolicy: (ctx) => {
        seen.push(ctx)
        return ctx.assertionScopes.includes('files:write') ? ['mcp:tools', 'mcp:tools'] : []
      },
    })
    t.same((await mapped.verify(await mint(), { client, scopes: ['x'] })).scopes, ['mcp:tools'])
    t.match(seen[0], {
      requestedScopes: ['x'],
      resource: RESOURCE,
      subject: 'alice@example.org',
      clientId: CLIENT_ID,
      issuer: IDP,
    })
    const broken = make({ scopePolicy: () => ['bad scope'] })
    await t.rejects(broken.verify(await mint(), { client }), TypeError)
  },
)

t.test('jti is single use: replays and concurrent double use', async (t) => {
  const v = make()
  const assertion = await mint()
  t.ok(await v.verify(assertion, { client }))
  await refused(t, assertion, 'invalid_grant', /already used/, {}, v)

  const twice = await mint()
  const results = await Promise.allSettled([
    v.verify(twice, { client }),
    v.verify(twice, { client }),
  ])
  t.same(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'], 'exactly one goes through')

  // A refusal for another reason does not burn the identifier.
  const later = await mint()
  await refused(
    t,
    later,
    'invalid_grant',
    /another client/,
    { client: { client_id: 'impostor' } },
    v,
  )
  t.ok(await v.verify(later, { client }), 'the rightful client can still use it')

  // The same jti from two different providers does not collide.
  const a = await mint({ claims: { jti: 'shared' } })
  const b = await mint({ claims: { jti: 'shared', iss: OTHER_IDP } }, other)
  t.ok(await v.verify(a, { client }))
  t.ok(await v.verify(b, { client }))
})

t.test('the memory replay store is bounded and fails closed', async (t) => {
  let now = 0
  const store = createMemoryReplayStore({ max: 2, now: () => now })
  t.equal(store.markUsed('a', 10), true)
  t.equal(store.markUsed('a', 10), false)
  t.equal(store.markUsed('b', 20), true)
  t.throws(() => store.markUsed('c', 30), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'replay_store_full',
  })
  now = 10_000
  t.equal(store.markUsed('c', 30), true, 'expired identifiers make room')
  // a was purged when it expired; b and c are alive, so there is no room for a again yet.
  t.throws(() => store.markUsed('a', 40), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'replay_store_full',
  })
  now = 30_000
  t.equal(store.markUsed('a', 40), true)
  t.throws(() => createMemoryReplayStore({ max: 0 }), { message: /^options\.max / })
  t.throws(() => createMemoryReplayStore({ now: 1 as never }), { message: /^options\.now / })

  const full = make({
    replayStore: {
      markUsed: () => {
        throw new Error('redis down')
      },
    },
  })
  await t.rejects(full.verify(await mint(), { client }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'replay_store_error',
  })
  const never = make({ replayStore: { markUsed: async () => false } })
  await refused(t, mint(), 'invalid_grant', /already used/, {}, never)
})

t.test('identity provider keys unreachable -> unavailable, never a grant', async (t) => {
  const server = createServer((_req, res) => {
    res.writeHead(500)
    res.end('down')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const port = (server.address() as AddressInfo).port
  const v = make({
    trustedIssuers: { [IDP]: { jwksUri: `http://127.0.0.1:${port}/jwks`, jwks: { timeout: 500 } } },
  })
  await t.rejects(v.verify(await mint(), { client }), { code: 'ERR_VERIFIER_UNAVAILABLE' })
  await t.rejects(v.ready(), { code: 'ERR_VERIFIER_UNAVAILABLE' })
  v.close()
})

t.test('ready() loads keys and a passed-in resolver is shared, not closed', async (t) => {
  const { createKeyResolver } = await import('@bearerkit/jwt')
  let closed = 0
  const base = createKeyResolver({ key: { keys: [idp.publicJwk] } })
  const shared = { ...base, close: () => void closed++ }
  const v = make({ trustedIssuers: { [IDP]: shared } })
  await v.ready()
  t.ok(await v.verify(await mint(), { client }))
  v.close()
  t.equal(closed, 0)
  const grant = await verifyIdentityAssertion(await mint(), {
    issuer: AS_ISSUER,
    keys: { [IDP]: shared },
    resources: [RESOURCE],
    replayStore: createMemoryReplayStore(),
    client,
    scopes: ['files:read'],
    resource: RESOURCE,
    signal: new AbortController().signal,
  })
  t.same(grant.scopes, ['files:read'])
  t.equal(closed, 0)
  const oneShot = await verifyIdentityAssertion(await mint(), {
    issuer: AS_ISSUER,
    keys: { [IDP]: { key: { keys: [idp.publicJwk] } } },
    resources: [RESOURCE],
    replayStore: createMemoryReplayStore(),
    client,
  })
  t.equal(oneShot.subject, 'alice@example.org')
})

t.test('options are checked up front', async (t) => {
  const base: IdentityAssertionVerifierOptions = {
    issuer: AS_ISSUER,
    trustedIssuers: { [IDP]: { key: { keys: [idp.publicJwk] } } },
    resources: [RESOURCE],
  }
  const bad: Array<[unknown, RegExp]> = [
    [null, /^options must be an object/],
    [{ ...base, issuer: '' }, /^options\.issuer /],
    [{ ...base, now: 5 }, /^options\.now /],
    [{ ...base, clockTolerance: -1 }, /^options\.clockTolerance /],
    [{ ...base, maxLifetime: 'long' }, /^options\.maxLifetime /],
    [{ ...base, replayStore: {} }, /^options\.replayStore /],
    [{ ...base, scopePolicy: 'all' }, /^options\.scopePolicy /],
    [{ ...base, resources: [] }, /^options\.resources /],
    [{ ...base, trustedIssuers: {} }, /^options\.trustedIssuers /],
    [
      { ...base, trustedIssuers: { 'http://idp.example': { key: idp.publicJwk } } },
      /^options\.trustedIssuers\["http:\/\/idp\.example"\] must use https/,
    ],
    [
      { ...base, trustedIssuers: { [IDP]: 5 } },
      /^options\.trustedIssuers\[".*"\] must be a key source/,
    ],
  ]
  for (const [options, message] of bad) {
    t.throws(() => createIdentityAssertionVerifier(options as IdentityAssertionVerifierOptions), {
      code: 'ERR_INVALID_ARG_VALUE',
      message,
    })
  }
})

t.test('a replay store that hangs hangs the grant (finding 6)', async (t) => {
  const hanging = { markUsed: () => new Promise<boolean>(() => {}) }
  // The deadline: a store that never answers is unavailable after replayStoreTimeout ms.
  const bounded = make({ replayStore: hanging, replayStoreTimeout: 20 })
  await t.rejects(bounded.verify(await mint(), { client }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    statusCode: 503,
    reason: 'replay_store_timeout',
  })
  // A deadline longer than a Node.js timer holds (2^31 - 1 ms, which would fire after 1 ms)
  // waits: the call is still pending a while later, until the abort below ends it.
  const lasting = make({ replayStore: hanging, replayStoreTimeout: 30 * 24 * 3600 * 1000 })
  const stop = new AbortController()
  const waiting = lasting.verify(await mint(), { client, signal: stop.signal })
  const state = await Promise.race([
    waiting.then(
      () => 'settled',
      () => 'settled',
    ),
    new Promise((resolve) => setTimeout(() => resolve('pending'), 50)),
  ])
  t.equal(state, 'pending')
  stop.abort(new Error('done'))
  await t.rejects(waiting, { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'aborted' })
  // The signal: an abort ends the wait at once, long before the default deadline.
  const patient = make({ replayStore: hanging })
  const controller = new AbortController()
  const pending = patient.verify(await mint(), { client, signal: controller.signal })
  setImmediate(() => controller.abort(new Error('client went away')))
  const aborted = (await pending.catch((e: unknown) => e)) as { code: string; reason: string }
  t.match(aborted, { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'aborted' })
  // Already aborted before the store is asked.
  const gone = AbortSignal.abort()
  let asked = 0
  const counting = make({
    replayStore: {
      markUsed: () => {
        asked++
        return true
      },
    },
  })
  // The key is resolved from a static JWK Set: nothing to fetch, so the store is the first wait.
  await t.rejects(counting.verify(await mint(), { client, signal: gone }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
  })
  t.equal(asked, 0)
})

t.test(
  'a custom replay store error is wrapped (503), kept as cause, no token text (finding 6)',
  async (t) => {
    const assertion = await mint()
    const boom = new Error(`redis refused ${assertion}`)
    const failing = make({ replayStore: { markUsed: () => Promise.reject(boom) } })
    const error = (await failing
      .verify(assertion, { client })
      .catch((e: unknown) => e)) as Error & {
      code: string
      statusCode: number
      reason: string
    }
    t.equal(error.code, 'ERR_VERIFIER_UNAVAILABLE')
    t.equal(error.statusCode, 503)
    t.equal(error.reason, 'replay_store_error')
    t.equal(error.cause, boom)
    t.notOk(error.message.includes(assertion), 'no token text in the message')
    t.notOk(error.message.includes('redis refused'), "the store's message is not reused")
    // A store's own VerifierUnavailableError passes on unchanged (its reason, its retryAfter).
    const { VerifierUnavailableError } = await import('@bearerkit/core')
    const own = new VerifierUnavailableError('cluster failover', {
      reason: 'failover',
      retryAfter: 3,
    })
    const failover = make({ replayStore: { markUsed: () => Promise.reject(own) } })
    t.equal(await failover.verify(await mint(), { client }).catch((e: unknown) => e), own)
    // A store answering something other than a boolean: undecidable, not a replay, not a grant.
    for (const [name, answer] of [
      ['undefined', undefined],
      ['a string', 'true'],
      ['a number', 1],
      ['null', null],
      ['an object', {}],
    ] as const) {
      const odd = make({ replayStore: { markUsed: () => answer as never } })
      await t.rejects(
        odd.verify(await mint(), { client }),
        { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'replay_store_invalid_response' },
        name,
      )
    }
    // A store answering after the deadline changes nothing: the promise already settled.
    let release: (value: boolean) => void = () => {}
    const late = make({
      replayStore: { markUsed: () => new Promise<boolean>((resolve) => (release = resolve)) },
      replayStoreTimeout: 10,
    })
    const timedOut = (await late.verify(await mint(), { client }).catch((e: unknown) => e)) as {
      reason: string
    }
    t.equal(timedOut.reason, 'replay_store_timeout')
    release(true)
  },
)

t.test('an ID-JAG without iat is refused (finding 9; the draft makes iat REQUIRED)', async (t) => {
  const now = 1_800_000_000
  const verifier = make({ now: () => now * 1000 })
  const at = (claims: Record<string, unknown>, omit: string[] = []) =>
    mint({ nowSeconds: now, claims, omit })
  await refused(t, at({}, ['iat']), 'invalid_grant', /no valid iat/, {}, verifier)
  await refused(t, at({ iat: String(now) }), 'invalid_grant', /no valid iat/, {}, verifier)
  await refused(t, at({ iat: null }), 'invalid_grant', /no valid iat/, {}, verifier)
  t.ok(await verifier.verify(await at({}), { client }))
})

t.test(
  'time boundaries: the exact second on both sides of exp, nbf, iat and lifetime',
  async (t) => {
    // tolerance 30, maxLifetime 300, now a whole second.
    const now = 1_800_000_000
    const verifier = make({ now: () => now * 1000 })
    const at = (claims: Record<string, unknown>) => mint({ nowSeconds: now, claims })
    const accepts = async (claims: Record<string, unknown>, name: string) =>
      t.ok(await verifier.verify(await at(claims), { client }), name)
    // exp: refused on or after exp + tolerance (exp <= now - 30).
    await refused(
      t,
      at({ exp: now - 30, iat: now - 100 }),
      'invalid_grant',
      /expired/,
      {},
      verifier,
    )
    await accepts({ exp: now - 29, iat: now - 100 }, 'exp one second inside the leeway')
    // nbf: refused when after now + tolerance.
    await refused(t, at({ nbf: now + 31 }), 'invalid_grant', /not valid yet/, {}, verifier)
    await accepts({ nbf: now + 30 }, 'nbf exactly at the leeway')
    // iat: refused when after now + tolerance.
    await refused(
      t,
      at({ iat: now + 31, exp: now + 60 }),
      'invalid_grant',
      /issued in the future/,
      {},
      verifier,
    )
    await accepts({ iat: now + 30, exp: now + 60 }, 'iat exactly at the leeway')
    // exp - iat at most maxLifetime.
    await refused(
      t,
      at({ iat: now - 1, exp: now + 300 }),
      'invalid_grant',
      /lives longer/,
      {},
      verifier,
    )
    await accepts({ iat: now, exp: now + 300 }, 'exp - iat exactly maxLifetime')
    // exp - now at most maxLifetime + tolerance (an iat in the future within the leeway).
    await refused(
      t,
      at({ iat: now + 30, exp: now + 331 }),
      'invalid_grant',
      /lives longer/,
      {},
      verifier,
    )
    await accepts({ iat: now + 30, exp: now + 330 }, 'exp - now exactly maxLifetime + tolerance')
    // Fractional clocks: half a second before the exp boundary is still inside it.
    const fractional = make({ now: () => (now - 30) * 1000 + 500 })
    await refused(
      t,
      at({ exp: now - 60, iat: now - 100 }),
      'invalid_grant',
      /expired/,
      {},
      fractional,
    )
    t.ok(await fractional.verify(await at({ exp: now - 59, iat: now - 100 }), { client }))
  },
)

t.test('unknown options are refused, with the nearest name', async (t) => {
  t.throws(() => make({ replayStoreTimout: 5 } as never), {
    code: 'ERR_INVALID_ARG_VALUE',
    message:
      /options\.replayStoreTimout is not a known option: did you mean `replayStoreTimeout`\?/,
  })
  t.throws(() => make({ replayStoreTimeout: 0 }), { message: /^options\.replayStoreTimeout / })
  t.throws(() => make({ trustedIssuers: { 'https://idp.example.org#': { key: idp.publicJwk } } }), {
    message: /must not contain "#"/,
  })
})

t.test('resources and scopePolicy hooks are bounded: hang, throw, abort', async (t) => {
  // The deadline's sweep never keeps a process alive; a server would, this timer does here.
  const alive = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(alive))
  const never = () => new Promise<never>(() => {})
  let used = 0
  const replayStore = {
    markUsed: () => {
      used++
      return true
    },
  }
  const cases: [string, Partial<IdentityAssertionVerifierOptions>, string][] = [
    ['a resources predicate that hangs', { resources: never }, 'policy_timeout'],
    ['a scopePolicy that hangs', { scopePolicy: never }, 'policy_timeout'],
    [
      'a resources predicate that throws',
      {
        resources: () => {
          throw new Error('lookup failed for sEcReT')
        },
      },
      'policy_error',
    ],
    [
      'a scopePolicy that rejects',
      { scopePolicy: () => Promise.reject(new Error('policy db down')) },
      'policy_error',
    ],
  ]
  for (const [name, options, reason] of cases) {
    const verifier = make({ ...options, replayStore, policyTimeout: 30 })
    const error = (await verifier.verify(await mint(), { client }).catch((e: unknown) => e)) as {
      code: string
      statusCode: number
      reason: string
      message: string
    }
    t.match(error, { code: 'ERR_VERIFIER_UNAVAILABLE', statusCode: 503, reason }, name)
    t.notMatch(error.message, 'sEcReT', `${name}: the hook's message is not repeated`)
  }
  t.equal(used, 0, 'no assertion was spent on a request that could not be decided')

  // The request goes away while a hook is pending: aborted, at once.
  const controller = new AbortController()
  const pending = make({ scopePolicy: never, replayStore }).verify(await mint(), {
    client,
    signal: controller.signal,
  })
  setImmediate(() => controller.abort(new Error('client went away')))
  t.match(await pending.catch((e: unknown) => e), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'aborted',
  })

  // A hook that answers in time decides as before.
  const quick = make({
    resources: async () => true,
    scopePolicy: async () => ['read'],
    replayStore,
    policyTimeout: 1000,
  })
  const granted = await quick.verify(await mint(), { client })
  t.same(granted.scopes, ['read'])
  t.throws(() => make({ policyTimeout: 0 }), { message: /^options\.policyTimeout / })
})

t.test('a clock that gives no number is a 503, never a grant', async (t) => {
  // Every comparison with NaN is false: an expired assertion would pass the time checks.
  const now = 1_800_000_000
  const expired = await mint({ nowSeconds: now, claims: { exp: now - 3600, iat: now - 3700 } })
  for (const clock of [() => NaN, () => undefined as unknown as number, () => Infinity]) {
    await t.rejects(make({ now: clock }).verify(expired, { client }), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      statusCode: 503,
      reason: 'clock_error',
      message: 'The clock gave no time to check the assertion with',
    })
  }
  await refused(t, expired, 'invalid_grant', /expired/, {}, make({ now: () => now * 1000 }))
})
