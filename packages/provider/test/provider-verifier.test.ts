import diagnostics from 'node:diagnostics_channel'
import t from 'tap'
import {
  VERIFY_CHANNEL,
  VerifierUnavailableError,
  createVerifier,
  verifierConfigFromEnv,
  type Refusal,
  type VerificationEvent,
  type VerifierConfig,
} from '@bearerkit/core'
import { createProviderVerifier, type ProviderAccessToken } from '../src/index.js'

const NOW = Date.UTC(2030, 0, 1) // milliseconds
const now = (): number => NOW
const AUD = 'https://mcp.example.com/mcp'

const record = (fields: Partial<ProviderAccessToken> = {}): ProviderAccessToken => ({
  token: 'tok-1',
  clientId: 'client-a',
  scopes: ['read', 'write'],
  expiresAt: NOW / 1000 + 60,
  resource: AUD,
  ...fields,
})

const fixed = (value: unknown) => ({ loadAccessToken: async () => value as ProviderAccessToken })

async function refusal(
  verifier: ReturnType<typeof createProviderVerifier>,
  token = 'tok-1',
): Promise<Refusal | undefined> {
  let seen: Refusal | undefined
  const result = await verifier.verifyToken(token, { onRefusal: (r) => (seen = r) })
  if (result !== null) throw new Error('expected a refusal')
  return seen
}

t.test('a valid record becomes a complete, frozen AccessToken', async (t) => {
  const verifier = createProviderVerifier(
    fixed(
      record({
        scopes: ['read', 'write', 'read'],
        subject: 'alice',
        issuer: 'https://as.example.com',
        audience: 'https://other.example.com',
        claims: { act: { sub: 'agent' }, client_id: 'spoofed', exp: 1 },
      }),
    ),
    { audience: AUD, now },
  )
  const accessToken = await verifier.verifyToken('tok-1')
  if (accessToken === null) throw new Error('expected an AccessToken')
  t.same(
    { ...accessToken, claims: { ...accessToken.claims } },
    {
      token: 'tok-1',
      clientId: 'client-a',
      scopes: ['read', 'write'],
      expiresAt: NOW / 1000 + 60,
      subject: 'alice',
      issuer: 'https://as.example.com',
      audience: ['https://other.example.com'],
      resource: AUD,
      claims: {
        act: { sub: 'agent' },
        client_id: 'client-a',
        exp: NOW / 1000 + 60,
        scope: 'read write',
        sub: 'alice',
        iss: 'https://as.example.com',
        aud: 'https://other.example.com',
        resource: AUD,
      },
    },
  )
  t.ok(Object.isFrozen(accessToken))
  t.ok(Object.isFrozen(accessToken.scopes))
  t.ok(Object.isFrozen(accessToken.audience))
  t.ok(Object.isFrozen(accessToken.claims))
  // Inherits nothing: its prototype is an empty object without a prototype.
  t.same(Reflect.ownKeys(Object.getPrototypeOf(accessToken.claims) as object), [])
  t.equal(Object.getPrototypeOf(Object.getPrototypeOf(accessToken.claims) as object), null)
})

t.test('a minimal record (no token, nulls for optional members) is accepted', async (t) => {
  const verifier = createProviderVerifier(
    fixed({
      clientId: 'c',
      scopes: [],
      expiresAt: null,
      resource: null,
      subject: null,
      issuer: null,
      audience: null,
      claims: null,
    }),
    { audience: null, now },
  )
  const accessToken = await verifier.verifyToken('opaque')
  t.same(accessToken && { ...accessToken, claims: { ...accessToken.claims } }, {
    token: 'opaque',
    clientId: 'c',
    scopes: [],
    claims: { client_id: 'c' },
  })
})

t.test('null or undefined from the provider is a refusal (inactive)', async (t) => {
  for (const value of [null, undefined]) {
    const seen = await refusal(createProviderVerifier(fixed(value), { audience: AUD, now }))
    t.equal(seen?.code, 'inactive')
    t.equal(seen?.description, 'The access token is not known or no longer active')
  }
})

t.test('a synchronous provider works, and is called as a method', async (t) => {
  class SyncProvider {
    readonly tokens = new Map([['tok-1', record()]])
    loadAccessToken(token: string): ProviderAccessToken | null {
      return this.tokens.get(token) ?? null
    }
  }
  const verifier = createProviderVerifier(new SyncProvider(), { audience: AUD, now })
  t.equal((await verifier.verifyToken('tok-1'))?.clientId, 'client-a')
  t.equal(await verifier.verifyToken('tok-2'), null)
})

t.test('expired tokens are refused even when the provider returns them', async (t) => {
  const at = (expiresAt: number) =>
    createProviderVerifier(fixed(record({ expiresAt })), { audience: AUD, now })
  t.equal((await refusal(at(NOW / 1000)))?.code, 'expired', 'on exp itself')
  t.equal((await refusal(at(NOW / 1000 - 3600)))?.code, 'expired', 'long past')
  t.equal((await at(NOW / 1000 + 1).verifyToken('tok-1'))?.clientId, 'client-a', 'one second left')
  // The clock is read at every call.
  let clock = NOW
  const moving = createProviderVerifier(fixed(record({ expiresAt: NOW / 1000 + 10 })), {
    audience: AUD,
    now: () => clock,
  })
  t.not(await moving.verifyToken('tok-1'), null)
  clock = NOW + 10_000
  t.equal((await refusal(moving))?.code, 'expired')
})

t.test('a clock that gives no number is a 503, never an acceptance', async (t) => {
  // Every comparison with NaN is false: a token long expired would pass the expiry check.
  for (const clock of [() => NaN, () => undefined as unknown as number]) {
    const verifier = createProviderVerifier(fixed(record({ expiresAt: NOW / 1000 - 3600 })), {
      audience: AUD,
      now: clock,
    })
    await t.rejects(verifier.verifyToken('tok-1'), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'clock_error',
    })
  }
})

t.test('a token without expiresAt never expires here', async (t) => {
  const verifier = createProviderVerifier(fixed(record({ expiresAt: undefined })), {
    audience: AUD,
    now: () => 8.64e15,
  })
  t.not(await verifier.verifyToken('tok-1'), null)
})

t.test('audience: resource or aud must name a configured audience', async (t) => {
  const check = async (fields: Partial<ProviderAccessToken>, audience: string | string[]) => {
    const verifier = createProviderVerifier(fixed(record(fields)), { audience, now })
    let seen: Refusal | undefined
    const result = await verifier.verifyToken('tok-1', { onRefusal: (r) => (seen = r) })
    return result === null ? seen?.code : 'accepted'
  }
  t.equal(await check({}, AUD), 'accepted', 'resource equals the audience')
  t.equal(await check({ resource: 'https://evil.example.com/mcp' }, AUD), 'wrong_audience')
  t.equal(await check({ resource: undefined }, AUD), 'wrong_audience', 'unrestricted token')
  t.equal(await check({ resource: undefined, audience: [AUD] }, AUD), 'accepted', 'aud entry')
  t.equal(
    await check({ resource: undefined, audience: ['https://x.example', AUD] }, ['https://y', AUD]),
    'accepted',
    'any of several',
  )
  t.equal(await check({ resource: `${AUD}/` }, AUD), 'wrong_audience', 'path differs by a slash')
  t.equal(await check({ resource: 'https://mcp.example.com/MCP' }, AUD), 'wrong_audience')
  t.equal(
    await check({ resource: 'HTTPS://MCP.example.com:443/mcp' }, AUD),
    'accepted',
    'RFC 3986 normalization of scheme, host and default port',
  )
  t.equal(
    await check({ resource: 'https://api.example.com' }, 'https://api.example.com/'),
    'accepted',
    'empty path equals /',
  )
  t.equal(await check({ resource: 'urn:example:api' }, 'urn:example:api'), 'accepted')
  t.equal(await check({ resource: 'urn:example:API' }, 'urn:example:api'), 'wrong_audience')
  t.equal(await check({ resource: 'api' }, 'api'), 'accepted', 'non-URL values exactly')
  t.equal(await check({ resource: 'http://[bad' }, 'http://[bad'), 'accepted', 'unparsable URL')
  t.equal(
    await check({ resource: 'http://[bad' }, 'http://[BAD'),
    'wrong_audience',
    'unparsable URLs compare exactly',
  )
})

t.test('audience null accepts any audience, and no resource at all', async (t) => {
  const verifier = createProviderVerifier(
    fixed(record({ resource: 'https://elsewhere.example.com' })),
    { audience: null, now },
  )
  t.not(await verifier.verifyToken('tok-1'), null)
})

t.test('requiredScopes', async (t) => {
  const verifier = createProviderVerifier(fixed(record({ scopes: ['read'] })), {
    audience: AUD,
    now,
    requiredScopes: ['read', 'write'],
  })
  const seen = await refusal(verifier)
  t.equal(seen?.code, 'insufficient_scope')
  const ok = createProviderVerifier(fixed(record({ scopes: ['write', 'read', 'admin'] })), {
    audience: AUD,
    now,
    requiredScopes: ['read', 'write', 'read'],
  })
  t.not(await ok.verifyToken('tok-1'), null)
})

t.test('checks run in order: expiry before audience before scopes', async (t) => {
  const verifier = createProviderVerifier(
    fixed(record({ expiresAt: 1, resource: 'https://evil', scopes: [] })),
    { audience: AUD, now, requiredScopes: ['read'] },
  )
  t.equal((await refusal(verifier))?.code, 'expired')
  const noExpiry = createProviderVerifier(fixed(record({ resource: 'https://evil', scopes: [] })), {
    audience: AUD,
    now,
    requiredScopes: ['read'],
  })
  t.equal((await refusal(noExpiry))?.code, 'wrong_audience')
})

t.test('a provider that throws or rejects makes the verifier unavailable', async (t) => {
  const boom = new Error('connection refused')
  const cases: Array<[string, () => unknown]> = [
    ['rejects', () => Promise.reject(boom)],
    [
      'throws synchronously',
      () => {
        throw boom
      },
    ],
  ]
  for (const [name, loadAccessToken] of cases) {
    const verifier = createProviderVerifier(
      { loadAccessToken: loadAccessToken as () => null },
      { audience: AUD, now },
    )
    const error = await verifier.verifyToken('tok-1').then(
      () => undefined,
      (e: unknown) => e as VerifierUnavailableError,
    )
    if (error === undefined) {
      t.fail(`${name}: resolved`)
      continue
    }
    t.equal(error.code, 'ERR_VERIFIER_UNAVAILABLE', name)
    t.equal(error.reason, 'provider_error', name)
    t.equal(error.statusCode, 503, name)
    t.equal(error.cause, boom, `${name}: cause kept`)
    t.notMatch(error.message, /tok-1/, `${name}: no token in the message`)
  }
})

t.test('a non-Error rejection is still unavailable with the value kept', async (t) => {
  const verifier = createProviderVerifier(
    {
      // A thenable rejecting with a plain string, as careless code does.
      loadAccessToken: () =>
        ({ then: (_: unknown, fail: (reason: unknown) => void) => fail('down') }) as never,
    },
    { audience: AUD, now },
  )
  await t.rejects(verifier.verifyToken('tok-1'), { reason: 'provider_error', cause: 'down' })
})

t.test("a provider's own VerifierUnavailableError passes through unchanged", async (t) => {
  const own = new VerifierUnavailableError('Token store is in maintenance', {
    reason: 'maintenance',
    retryAfter: 30,
  })
  const verifier = createProviderVerifier(
    { loadAccessToken: () => Promise.reject(own) },
    { audience: AUD, now },
  )
  const error = await verifier.verifyToken('tok-1').catch((e: unknown) => e)
  t.equal(error, own)
  t.equal((error as VerifierUnavailableError).headers?.['retry-after'], '30')
})

t.test('a malformed record makes the verifier unavailable (invalid_response)', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['a string', 'client-a', /not an object/],
    ['an array', [record()], /not an object/],
    ['a number', 1, /not an object/],
    ['another token', record({ token: 'tok-2' }), /different token/],
    ['no clientId', { ...record(), clientId: undefined }, /clientId/],
    ['empty clientId', record({ clientId: '' }), /clientId/],
    ['numeric clientId', { ...record(), clientId: 42 }, /clientId/],
    ['scopes as a string', { ...record(), scopes: 'read write' }, /scopes/],
    ['missing scopes', { ...record(), scopes: undefined }, /scopes/],
    ['scope with a space', record({ scopes: ['read write'] }), /scopes/],
    ['scope not a string', { ...record(), scopes: [1] }, /scopes/],
    ['empty scope', record({ scopes: [''] }), /scopes/],
    ['expiresAt as a string', { ...record(), expiresAt: '1900000000' }, /expiresAt/],
    ['expiresAt NaN', record({ expiresAt: Number.NaN }), /expiresAt/],
    ['expiresAt Infinity', record({ expiresAt: Number.POSITIVE_INFINITY }), /expiresAt/],
    ['expiresAt in milliseconds as a Date', { ...record(), expiresAt: new Date() }, /expiresAt/],
    ['subject not a string', { ...record(), subject: 7 }, /subject/],
    ['issuer not a string', { ...record(), issuer: {} }, /issuer/],
    ['resource a URL object', { ...record(), resource: new URL(AUD) }, /resource/],
    ['audience a number', { ...record(), audience: 1 }, /audience/],
    ['audience mixed array', { ...record(), audience: [AUD, 1] }, /audience/],
    ['claims an array', { ...record(), claims: [] }, /claims is not an object/],
    ['claims a string', { ...record(), claims: 'x' }, /claims is not an object/],
    ['claims.sub a number', record({ claims: { sub: 5 } }), /claims are malformed/],
    ['claims.iss an object', record({ claims: { iss: {} } }), /claims are malformed/],
  ]
  for (const [name, value, message] of cases) {
    const verifier = createProviderVerifier(fixed(value), { audience: AUD, now })
    const error = await verifier.verifyToken('tok-1').then(
      () => undefined,
      (e: unknown) => e as VerifierUnavailableError,
    )
    t.equal(error?.code, 'ERR_VERIFIER_UNAVAILABLE', name)
    t.equal(error?.reason, 'invalid_response', name)
    t.match(error?.message, message, name)
    t.notMatch(error?.message, /tok-1/, `${name}: no token in the message`)
  }
})

t.test('the signal aborts the wait for a slow provider', async (t) => {
  let release: (value: ProviderAccessToken) => void = () => undefined
  const verifier = createProviderVerifier(
    { loadAccessToken: () => new Promise<ProviderAccessToken>((r) => (release = r)) },
    { audience: AUD, now },
  )
  const controller = new AbortController()
  const pending = verifier.verifyToken('tok-1', { signal: controller.signal })
  const reason = new Error('client went away')
  controller.abort(reason)
  await t.rejects(pending, reason)
  release(record())
  // A string reason is turned into an Error.
  const c2 = new AbortController()
  const p2 = verifier.verifyToken('tok-1', { signal: c2.signal })
  c2.abort('gone')
  await t.rejects(p2, { message: 'gone' })
  release(record())
  // An already aborted signal rejects before the provider is called.
  let called = false
  const v3 = createProviderVerifier(
    {
      loadAccessToken: () => {
        called = true
        return null
      },
    },
    { audience: AUD, now },
  )
  await t.rejects(v3.verifyToken('tok-1', { signal: AbortSignal.abort(reason) }), reason)
  t.equal(called, false)
})

t.test('with a signal, a non-Error rejection becomes an Error cause', async (t) => {
  const { signal } = new AbortController()
  const verifier = createProviderVerifier(
    {
      loadAccessToken: () =>
        ({ then: (_: unknown, fail: (reason: unknown) => void) => fail('down') }) as never,
    },
    { audience: AUD, now },
  )
  const error = await verifier.verifyToken('tok-1', { signal }).then(
    () => undefined,
    (e: unknown) => e as VerifierUnavailableError,
  )
  t.equal(error?.reason, 'provider_error')
  t.equal((error?.cause as Error).message, 'down')
})

t.test('with a signal that does not abort, results and failures are unchanged', async (t) => {
  const { signal } = new AbortController()
  const ok = createProviderVerifier(fixed(record()), { audience: AUD, now })
  t.equal((await ok.verifyToken('tok-1', { signal }))?.clientId, 'client-a')
  const failing = createProviderVerifier(
    { loadAccessToken: () => Promise.reject(new Error('down')) },
    { audience: AUD, now },
  )
  await t.rejects(failing.verifyToken('tok-1', { signal }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'provider_error',
  })
})

t.test('an empty token is refused as malformed without calling the provider', async (t) => {
  let called = false
  const verifier = createProviderVerifier(
    {
      loadAccessToken: () => {
        called = true
        return record()
      },
    },
    { audience: AUD, now },
  )
  t.equal((await refusal(verifier, ''))?.code, 'malformed')
  t.equal(called, false)
})

t.test('decisions are published without the token', async (t) => {
  const events: VerificationEvent[] = []
  const listener = (event: unknown): void => void events.push(event as VerificationEvent)
  diagnostics.subscribe(VERIFY_CHANNEL, listener)
  t.teardown(() => diagnostics.unsubscribe(VERIFY_CHANNEL, listener))
  const verifier = createProviderVerifier(fixed(record({ expiresAt: 1 })), { audience: AUD, now })
  await verifier.verifyToken('tok-1')
  t.equal(events[0]?.verifier, 'provider')
  t.equal(events[0]?.reason, 'expired')
  t.notMatch(JSON.stringify(events), /tok-1/)
})

t.test('construction checks the provider and the options', async (t) => {
  const provider = fixed(null)
  const bad: Array<[unknown, unknown, RegExp]> = [
    [null, { audience: AUD }, /^provider /],
    [{}, { audience: AUD }, /^provider /],
    [{ loadAccessToken: 'x' }, { audience: AUD }, /^provider /],
    [provider, undefined, /^options /],
    [provider, null, /^options /],
    [provider, [], /^options /],
    [provider, {}, /^options\.audience is required/],
    [provider, { audience: '' }, /^options\.audience must/],
    [provider, { audience: [] }, /^options\.audience must/],
    [provider, { audience: [AUD, ''] }, /^options\.audience must/],
    [provider, { audience: 42 }, /^options\.audience must/],
    [provider, { audience: AUD, requiredScopes: 'read' }, /^options\.requiredScopes/],
    [provider, { audience: AUD, requiredScopes: ['a b'] }, /^options\.requiredScopes/],
    [provider, { audience: AUD, requiredScopes: [''] }, /^options\.requiredScopes/],
    [provider, { audience: AUD, now: 5 }, /^options\.now/],
  ]
  for (const [p, o, message] of bad) {
    t.throws(
      () => createProviderVerifier(p as typeof provider, o as { audience: null }),
      { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message },
      String(message),
    )
  }
  t.doesNotThrow(() =>
    createProviderVerifier(provider, {
      audience: [AUD, 'urn:x'],
      requiredScopes: [],
      // Options of other verifier types are ignored (a shared configuration).
      ...({ issuer: 'https://as.example.com', timeout: 100 } as object),
    }),
  )
})

t.test("core's createVerifier builds a provider verifier from configuration", async (t) => {
  const provider = fixed(record())
  const verifier = await createVerifier(
    { type: 'provider', provider, audience: AUD, now },
    { load: () => import('../src/index.js') },
  )
  t.equal((await verifier.verifyToken('tok-1'))?.clientId, 'client-a')
  // With a cache in front, the expiry is still honoured through the same clock.
  const cached = await createVerifier(
    { type: 'provider', provider, audience: AUD, now, cache: { ttl: 60, now } },
    { load: () => import('../src/index.js') },
  )
  t.equal((await cached.verifyToken('tok-1'))?.clientId, 'client-a')
  await t.rejects(
    // Without audience on purpose: the runtime check is under test, not the type.
    createVerifier({ type: 'provider', provider } as unknown as VerifierConfig, {
      load: () => import('../src/index.js'),
    }),
    { code: 'ERR_INVALID_ARG_VALUE', message: /options\.audience is required/ },
  )
})

t.test('from the environment: a provider module, audience and scopes', async (t) => {
  const config = verifierConfigFromEnv({
    BEARERKIT_VERIFIER: 'provider',
    BEARERKIT_PROVIDER_MODULE: new URL('fixtures/provider-module.ts', import.meta.url).pathname,
    BEARERKIT_AUDIENCE: 'https://mcp.example.com/mcp',
    BEARERKIT_REQUIRED_SCOPES: 'mcp:tools',
  })
  if (config === null) throw new Error('expected a configuration')
  const loaded: string[] = []
  const verifier = await createVerifier(config, {
    load: (name) => {
      loaded.push(name)
      return name === '@bearerkit/provider' ? import('../src/index.js') : import(name)
    },
  })
  t.equal(loaded[0], '@bearerkit/provider')
  t.match(loaded[1], /^file:.*provider-module\.ts$/)
  t.equal((await verifier.verifyToken('module-token'))?.clientId, 'from-module')
  t.equal(await verifier.verifyToken('other'), null)
})

t.test('root README: createProviderVerifier(provider) throws (finding 11)', async (t) => {
  const provider = { loadAccessToken: () => null }
  // As the snippet used to read: audience is required, so this throws.
  t.throws(() => createProviderVerifier(provider, undefined as never), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
  // As the README reads now: it runs.
  const verifier = createProviderVerifier(provider, {
    audience: 'https://api.example.com/mcp', // required: this server's resource (null opts out)
  })
  t.equal(await verifier.verifyToken('unknown'), null)
})
