import t from 'tap'
import {
  Refusal,
  VerifierUnavailableError,
  createCachedVerifier,
  defineVerifier,
  tokenCacheKey,
  createCompositeVerifier,
  accessTokenFromClaims,
  type AccessToken,
  type TokenVerifier,
} from '../src/index.js'
import { accessToken } from './fixtures/tokens.js'

interface Counting extends TokenVerifier {
  calls: string[]
}

const counting = (
  decide: (token: string) => AccessToken | Refusal | Promise<AccessToken | Refusal>,
): Counting => {
  const calls: string[] = []
  const v = defineVerifier('inner', async (token) => {
    calls.push(token)
    return decide(token)
  })
  return Object.assign(v, { calls })
}

t.test('a hit is served from the cache and never outlives exp', async (t) => {
  let now = 1_000_000
  const inner = counting((token) => accessToken(token, { expiresAt: 1_000_000 / 1000 + 10 }))
  const cached = createCachedVerifier(inner, { ttl: 300, now: () => now })
  t.equal((await cached.verifyToken('tok'))?.token, 'tok')
  t.equal((await cached.verifyToken('tok'))?.token, 'tok')
  t.equal(inner.calls.length, 1, 'second call is a hit')
  now += 9_999
  t.equal((await cached.verifyToken('tok'))?.token, 'tok', 'still valid 1 ms before exp')
  t.equal(inner.calls.length, 1)
  now += 1
  // At exp the entry is dead: the inner verifier is asked again, and its answer is refused
  // because it is already expired.
  const reasons: string[] = []
  t.equal(await cached.verifyToken('tok', { onRefusal: (r) => reasons.push(r.code) }), null)
  t.same(reasons, ['expired'])
  t.equal(inner.calls.length, 2, 'entry died at exp although ttl was 300 s')
})

t.test('exp is re-checked on every hit, even inside the entry lifetime', async (t) => {
  let now = 0
  let expiresAt = 100
  const inner = counting((token) => accessToken(token, { expiresAt }))
  const cached = createCachedVerifier(inner, { ttl: 1000, now: () => now })
  t.ok(await cached.verifyToken('tok'))
  // Simulate a clock that jumps past exp while the entry is alive (entry until = exp * 1000).
  expiresAt = 50
  now = 99_999
  t.ok(await cached.verifyToken('tok'), 'hit before exp')
  now = 100_000
  const refusals: Refusal[] = []
  // Entry is dead now (until = exp); the inner verifier is asked again and says exp = 50 -> the
  // settle step refuses because the fresh result is already expired.
  t.equal(await cached.verifyToken('tok', { onRefusal: (r) => refusals.push(r) }), null)
  t.equal(refusals[0]?.code, 'expired')
})

t.test('a hit never extends an entry: ttl counts from the first verification', async (t) => {
  let now = 0
  const inner = counting((token) => accessToken(token))
  const cached = createCachedVerifier(inner, { ttl: 10, now: () => now })
  await cached.verifyToken('tok')
  for (now = 1000; now < 10_000; now += 1000) await cached.verifyToken('tok')
  t.equal(inner.calls.length, 1)
  now = 10_000
  await cached.verifyToken('tok')
  t.equal(inner.calls.length, 2, 'entry died ttl after creation despite hits')
})

t.test('keys are SHA-256 hashes, never the token', async (t) => {
  t.equal(tokenCacheKey('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0')
  t.not(tokenCacheKey('abc'), 'abc')
})

t.test('size stays bounded under 100,000 distinct tokens', async (t) => {
  const inner = counting((token) => accessToken(token))
  const cached = createCachedVerifier(inner, { max: 1000 })
  for (let i = 0; i < 100_000; i++) await cached.verifyToken(`token-${i}`)
  t.equal(cached.size, 1000)
  t.equal(inner.calls.length, 100_000)
  cached.clear()
  t.equal(cached.size, 0)
})

t.test('concurrent first uses of one token make one inner call', async (t) => {
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  const inner = counting(async (token) => {
    await gate
    return accessToken(token)
  })
  const cached = createCachedVerifier(inner)
  const all = Array.from({ length: 1000 }, () => cached.verifyToken('same'))
  release()
  const results = await Promise.all(all)
  t.equal(inner.calls.length, 1)
  t.ok(results.every((r) => r?.token === 'same'))
})

t.test('unavailable is never cached and reaches every coalesced caller', async (t) => {
  let fail = true
  const inner = counting((token) => {
    if (fail) throw new VerifierUnavailableError('down', { reason: 'network' })
    return accessToken(token)
  })
  const cached = createCachedVerifier(inner)
  const results = await Promise.allSettled([cached.verifyToken('t'), cached.verifyToken('t')])
  t.same(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  )
  t.equal(inner.calls.length, 1)
  fail = false
  t.ok(await cached.verifyToken('t'))
  t.equal(inner.calls.length, 2)
})

t.test('refusals are cached only with negativeTtl, with their reason', async (t) => {
  let now = 0
  const inner = counting(() => new Refusal('bad_signature', 'The signature is invalid'))
  const plain = createCachedVerifier(inner, { now: () => now })
  await plain.verifyToken('bad')
  await plain.verifyToken('bad')
  t.equal(inner.calls.length, 2, 'no negative caching by default')

  const negative = counting(() => new Refusal('bad_signature', 'The signature is invalid'))
  const cached = createCachedVerifier(negative, { negativeTtl: 5, now: () => now })
  const reasons: string[] = []
  await cached.verifyToken('bad', { onRefusal: (r) => reasons.push(r.code) })
  await cached.verifyToken('bad', { onRefusal: (r) => reasons.push(r.code) })
  t.equal(negative.calls.length, 1)
  t.same(reasons, ['bad_signature', 'bad_signature'])
  now = 5000
  await cached.verifyToken('bad')
  t.equal(negative.calls.length, 2, 'negative entry expired')
})

t.test('an inner verifier that refuses without a reason gets a generic one', async (t) => {
  const bare: TokenVerifier = { verifyToken: async () => null }
  const cached = createCachedVerifier(bare, { negativeTtl: 1 })
  const reasons: string[] = []
  t.equal(await cached.verifyToken('x', { onRefusal: (r) => reasons.push(r.code) }), null)
  t.same(reasons, ['rejected'])
})

t.test('an already-expired result is refused and not cached', async (t) => {
  const inner = counting((token) => accessToken(token, { expiresAt: 1 }))
  const cached = createCachedVerifier(inner, { now: () => 5000 })
  const reasons: string[] = []
  t.equal(await cached.verifyToken('x', { onRefusal: (r) => reasons.push(r.code) }), null)
  t.same(reasons, ['expired'])
  t.equal(cached.size, 0)
})

t.test('a hash collision can never return another token', async (t) => {
  // Force a collision by serving an entry for another token under the same key.
  const inner: TokenVerifier = { verifyToken: async () => accessToken('someone-else') }
  const cached = createCachedVerifier(inner)
  t.equal(await cached.verifyToken('mine'), null)
})

t.test('an aborted caller leaves the shared load to the others', async (t) => {
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  const inner = counting(async (token) => {
    await gate
    return accessToken(token)
  })
  const cached = createCachedVerifier(inner)
  const controller = new AbortController()
  const first = cached.verifyToken('tok', { signal: controller.signal })
  const second = cached.verifyToken('tok')
  controller.abort(new Error('client went away'))
  await t.rejects(first, { message: 'client went away' })
  release()
  t.equal((await second)?.token, 'tok')
  // A signal that is never aborted still gets the result.
  t.equal(
    (await cached.verifyToken('tok2', { signal: new AbortController().signal }))?.token,
    'tok2',
  )
  const failing = createCachedVerifier({
    verifyToken: async () => {
      throw new VerifierUnavailableError()
    },
  })
  await t.rejects(failing.verifyToken('z', { signal: new AbortController().signal }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
  })
  const weird = createCachedVerifier({
    verifyToken: () => Promise.reject(new Error('not an error')),
  })
  await t.rejects(weird.verifyToken('z', { signal: new AbortController().signal }), {
    message: 'not an error',
  })
})

t.test('clear() wins over a load that started before it', async (t) => {
  let release!: () => void
  let gate = new Promise<void>((resolve) => (release = resolve))
  const inner = counting(async (token) => {
    await gate
    return accessToken(token)
  })
  const cached = createCachedVerifier(inner)
  const before = cached.verifyToken('tok')
  cached.clear()
  const firstRelease = release
  gate = new Promise<void>((resolve) => (release = resolve))
  const after = cached.verifyToken('tok')
  t.equal(inner.calls.length, 2, 'a caller after clear() does not join the old load')
  firstRelease()
  t.ok(await before, 'the old caller still gets its answer')
  t.equal(cached.size, 0, 'but the old answer is not stored')
  release()
  t.ok(await after)
  t.equal(cached.size, 1)
})

t.test('options are validated up front', async (t) => {
  const inner = counting((token) => accessToken(token))
  t.throws(() => createCachedVerifier({} as TokenVerifier), { message: /^verifier / })
  t.throws(() => createCachedVerifier(inner, { max: 0 }), { message: /^options\.max / })
  t.throws(() => createCachedVerifier(inner, { max: 1.5 }), { message: /^options\.max / })
  t.throws(() => createCachedVerifier(inner, { ttl: -1 }), { message: /^options\.ttl / })
  t.throws(() => createCachedVerifier(inner, { ttl: NaN }), { message: /^options\.ttl / })
  t.throws(() => createCachedVerifier(inner, { negativeTtl: '5' as never }), {
    message: /^options\.negativeTtl /,
  })
  t.throws(() => createCachedVerifier(inner, { now: 5 as never }), { message: /^options\.now / })
})

// A verifier that enforces a maximum token age the way createJwtVerifier does (refused when
// now - iat > maxTokenAge), and reports the bound through onValidity.
const ageBound = (maxTokenAge: number, iat: number, now: () => number, report = true) => {
  const calls: string[] = []
  const v = defineVerifier('age', (token, options) => {
    calls.push(token)
    if (now() / 1000 - iat > maxTokenAge)
      return new Refusal('too_old', 'The access token is too old')
    if (report) options.onValidity?.({ validUntil: iat + maxTokenAge })
    return accessToken(token, { expiresAt: iat + 3600, claims: Object.freeze({ iat }) })
  })
  return Object.assign(v, { calls })
}

t.test('Cache hits keep only exp: the token age bound holds on a hit', async (t) => {
  let now = 1_000_000_000
  const iat = now / 1000
  const inner = ageBound(60, iat, () => now)
  const cached = createCachedVerifier(inner, { ttl: 300, now: () => now })
  t.ok(await cached.verifyToken('tok'))
  now += 59_999
  t.ok(await cached.verifyToken('tok'), 'a hit inside the age bound')
  t.equal(inner.calls.length, 1)
  now += 1
  // iat + 60 exactly: the cache stops serving (the bound is exclusive), the verifier decides.
  t.ok(await cached.verifyToken('tok'), 'the inner verifier still accepts at exactly 60 s')
  t.equal(inner.calls.length, 2)
  now = iat * 1000 + 250_000
  const reasons: string[] = []
  t.equal(await cached.verifyToken('tok', { onRefusal: (r) => reasons.push(r.code) }), null)
  t.same(reasons, ['too_old'], '250 s after iat, with ttl 300, is refused as the verifier does')
})

t.test('the tightest of several reported bounds holds; nbf is a lower bound', async (t) => {
  let now = 100_000
  const inner = defineVerifier('bounds', (token, options) => {
    options.onValidity?.({ notBefore: 90, validUntil: 200 })
    options.onValidity?.({ notBefore: 101, validUntil: 150 })
    options.onValidity?.({})
    return accessToken(token, { expiresAt: 1000, claims: Object.freeze({ nbf: 102 }) })
  })
  let calls = 0
  const counted: TokenVerifier = {
    verifyToken: (token, options) => {
      calls++
      return inner.verifyToken(token, options)
    },
  }
  const cached = createCachedVerifier(counted, { ttl: 1000, now: () => now })
  await cached.verifyToken('tok')
  now = 101_999
  await cached.verifyToken('tok')
  t.equal(calls, 2, 'nbf - 1 ms: not served from the cache')
  now = 102_000
  await cached.verifyToken('tok')
  t.equal(calls, 2, 'nbf == now: served')
  now = 149_999
  const seen: unknown[] = []
  await cached.verifyToken('tok', { onValidity: (v) => seen.push(v) })
  t.equal(calls, 2)
  t.same(seen, [{ notBefore: 102, validUntil: 150 }], 'a hit passes the window on')
  now = 150_000
  await cached.verifyToken('tok')
  t.equal(calls, 3, 'validUntil == now: not served')
})

t.test('a clock that goes back before the insertion is a miss', async (t) => {
  let now = 50_000
  const inner = counting((token) => accessToken(token))
  const cached = createCachedVerifier(inner, { now: () => now })
  await cached.verifyToken('tok')
  now = 49_999
  await cached.verifyToken('tok')
  t.equal(inner.calls.length, 2)
})

t.test(
  'a bound reported as garbage is not kept by guessing: the answer is not cached',
  async (t) => {
    for (const garbage of [
      { validUntil: Number.NaN },
      { validUntil: '100' },
      { notBefore: {} },
      null,
      'soon',
    ]) {
      let calls = 0
      const cached = createCachedVerifier(
        {
          verifyToken: (token, options) => {
            calls++
            options?.onValidity?.(garbage as never)
            return Promise.resolve(accessToken(token))
          },
        },
        { now: () => 0 },
      )
      t.ok(await cached.verifyToken('tok'))
      t.ok(await cached.verifyToken('tok'))
      t.equal(calls, 2, JSON.stringify(garbage))
    }
  },
)

t.test('a bound through a composite verifier reaches the cache', async (t) => {
  let now = 0
  const inner = ageBound(10, 0, () => now)
  const composite = createCompositeVerifier({ opaque: inner })
  const cached = createCachedVerifier(composite, { ttl: 300, now: () => now })
  t.ok(await cached.verifyToken('opaque-token'))
  now = 10_000
  await cached.verifyToken('opaque-token')
  t.equal(inner.calls.length, 2)
})

t.test('a hit cannot be mutated to affect other requests', async (t) => {
  // A custom verifier that hands out an object it keeps (and that anyone could change).
  const shared = {
    token: 'tok',
    clientId: 'client',
    scopes: ['read'],
    audience: ['https://api'],
    claims: { cnf: { jkt: 'k' }, roles: ['user'] },
  }
  const cached = createCachedVerifier({ verifyToken: () => Promise.resolve(shared) })
  // The token is DPoP-bound (cnf.jkt): served only with the matching proof context.
  const proven = { senderConstraint: { dpopJkt: 'k' } }
  const first = (await cached.verifyToken('tok', proven)) as AccessToken
  const second = (await cached.verifyToken('tok', proven)) as AccessToken
  t.equal(first, second)
  t.not(first, shared, 'a copy')
  t.ok(Object.isFrozen(first))
  t.throws(() => (first.scopes as string[]).push('admin'), TypeError)
  t.throws(() => (first.audience as string[]).push('https://evil'), TypeError)
  t.throws(() => (first.claims.roles as string[]).push('admin'), TypeError)
  t.throws(() => {
    ;(first.claims.cnf as { jkt: string }).jkt = 'attacker'
  }, TypeError)
  // The verifier changing its own object later changes nothing cached.
  shared.scopes.push('admin')
  t.same((await cached.verifyToken('tok', proven))?.scopes, ['read'])
  // An AccessToken built by accessTokenFromClaims is already immutable and kept as it is.
  const built = accessTokenFromClaims('t2', { client_id: 'c', cnf: { jkt: 'k' } }) as AccessToken
  const direct = createCachedVerifier({ verifyToken: () => Promise.resolve(built) })
  t.equal(await direct.verifyToken('t2', proven), built)
})

t.test('an answer that is not an AccessToken is unavailable, never accepted', async (t) => {
  for (const answer of [
    'yes',
    true,
    {},
    { token: 'tok', clientId: 'c', scopes: 'a', claims: {} },
    { token: 'tok', clientId: 'c', scopes: [], claims: null },
    { token: 'tok', clientId: 'c', scopes: [], claims: {}, expiresAt: '9' },
    { token: 'tok', clientId: 'c', scopes: [], claims: {}, audience: 'a' },
    { token: 'tok', clientId: 1, scopes: [], claims: {} },
    { token: 1, clientId: 'c', scopes: [], claims: {} },
  ]) {
    const cached = createCachedVerifier({
      verifyToken: () => Promise.resolve(answer as unknown as AccessToken),
    })
    await t.rejects(cached.verifyToken('tok'), { code: 'ERR_VERIFIER_UNAVAILABLE' })
    t.equal(cached.size, 0)
  }
})

t.test('two cached verifiers never share answers; keys never contain the token', async (t) => {
  const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln'
  const audienceA = createCachedVerifier(counting((tok) => accessToken(tok)))
  const audienceB = createCachedVerifier(
    counting(() => new Refusal('wrong_audience', 'no')),
    {
      negativeTtl: 60,
    },
  )
  t.ok(await audienceA.verifyToken(token))
  t.equal(await audienceB.verifyToken(token), null)
  t.ok(await audienceA.verifyToken(token))
  t.equal(await audienceB.verifyToken(token), null)
  const key = tokenCacheKey(token)
  t.notOk(key.includes(token))
  t.notOk(key.includes(token.slice(0, 16)))
})

t.test('createCachedVerifier refuses unknown options, naming the nearest', async (t) => {
  const inner = counting((tok) => accessToken(tok))
  t.throws(() => createCachedVerifier(inner, { tll: 60 } as never), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /options\.tll .*did you mean `ttl`/,
  })
  t.throws(() => createCachedVerifier(inner, { negativeTTL: 60 } as never), {
    message: /did you mean `negativeTtl`/,
  })
  t.throws(() => createCachedVerifier(inner, Promise.resolve({}) as never), {
    message: /await/,
  })
  t.throws(() => createCachedVerifier(inner, { now: 5 } as never), { message: /options\.now/ })
})

t.test(
  'clockTolerance: a hit lives as long as the inner verifier leeway on exp and nbf',
  async (t) => {
    let now = 110_000
    const inner = counting((token) =>
      accessToken(token, { expiresAt: 100, claims: token === 'early' ? { nbf: 200 } : {} }),
    )
    const cached = createCachedVerifier(inner, { ttl: 300, now: () => now, clockTolerance: 30 })
    // 10 s past exp, inside the 30 s leeway: accepted and cached.
    t.ok(await cached.verifyToken('tok'))
    now = 129_999
    t.ok(await cached.verifyToken('tok'))
    t.equal(inner.calls.length, 1, 'a hit until exp + 30 s')
    now = 130_000
    const reasons: string[] = []
    t.equal(await cached.verifyToken('tok', { onRefusal: (r) => reasons.push(r.code) }), null)
    t.same(reasons, ['expired'], 'the fresh answer is refused from exp + 30 s on')
    t.equal(inner.calls.length, 2)

    // nbf 200 s with a 30 s leeway: served from 170 s on (the token's exp is ignored here).
    const early = createCachedVerifier(
      counting((token) => accessToken(token, { claims: { nbf: 200 } })),
      { now: () => now, clockTolerance: 30 },
    )
    now = 150_000
    t.ok(await early.verifyToken('early'))
    t.equal(early.size, 1, 'stored, but not served before nbf - 30 s')
    now = 170_000
    t.ok(await early.verifyToken('early'))
    t.throws(() => createCachedVerifier(inner, { clockTolerance: -1 }), {
      message: /options\.clockTolerance/,
    })
  },
)

t.test(
  'a token built by accessTokenFromClaims is kept as it is; a copy of it is sealed anew',
  async (t) => {
    const built = accessTokenFromClaims('tok', { client_id: 'c', scope: 'a', nested: { n: 1 } })
    if (built instanceof Refusal) throw new Error('refused')
    const direct = createCachedVerifier({ verifyToken: async () => built })
    t.equal(await direct.verifyToken('tok'), built, 'sealed at birth: no copy')
    // A spread copy carries no mark: a custom verifier that goes on changing it must not reach
    // other requests through the cache.
    const copy = { ...built, claims: { ...built.claims } } as Record<string, unknown> & {
      claims: Record<string, unknown>
    }
    const custom = createCachedVerifier({ verifyToken: async () => copy as never })
    const served = await custom.verifyToken('tok')
    t.not(served, copy, 'copied')
    t.ok(Object.isFrozen(served) && Object.isFrozen(served?.claims))
    copy.clientId = 'someone else'
    copy.claims.scope = 'admin'
    t.equal(served?.clientId, 'c')
    t.equal(served?.claims.scope, 'a')
    t.equal(await custom.verifyToken('tok'), served, 'the sealed copy is what the cache keeps')
  },
)
