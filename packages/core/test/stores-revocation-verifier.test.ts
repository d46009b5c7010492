import t from 'tap'
import {
  Refusal,
  createCachedVerifier,
  createMemoryRevocationList,
  defineVerifier,
  revokeSubject,
  revokeToken,
  withRevocationCheck,
  type RevocationList,
} from '../src/index.js'
import { accessToken } from './fixtures/tokens.js'

const T = 1_700_000_000

const inner = defineVerifier('test', (token) =>
  token === 'bad'
    ? new Refusal('bad_signature', 'The signature does not verify')
    : accessToken(token, {
        subject: token === 'alice-token' ? 'alice' : 'bob',
        issuer: 'https://as',
        claims: { iat: T - 10, jti: `jti-${token}` },
      }),
)

t.test('revoked tokens are refused, on cache hits too', async (t) => {
  let calls = 0
  const counting = defineVerifier('count', (token, options) => {
    calls++
    return inner.verifyToken(token, options).then((r) => r ?? new Refusal('rejected', 'x'))
  })
  const list = createMemoryRevocationList({ now: () => T * 1000 })
  const verifier = withRevocationCheck(
    createCachedVerifier(counting, { now: () => T * 1000 }),
    list,
  )
  t.equal((await verifier.verifyToken('alice-token'))?.subject, 'alice')
  t.equal(calls, 1)
  await revokeSubject(list, { issuer: 'https://as', subject: 'alice' }, { before: T })
  const refusals: Refusal[] = []
  t.equal(await verifier.verifyToken('alice-token', { onRefusal: (r) => refusals.push(r) }), null)
  t.equal(calls, 1, 'answered from the cache, and still refused')
  t.same(
    refusals.map((r) => r.description),
    ['The access token has been revoked'],
  )
  t.equal((await verifier.verifyToken('bob-token'))?.subject, 'bob')
  await revokeToken(list, { jti: 'jti-bob-token', expiresAt: T + 60 })
  t.equal(await verifier.verifyToken('bob-token'), null)
})

t.test("the inner verifier's refusal passes through", async (t) => {
  const verifier = withRevocationCheck(inner, createMemoryRevocationList())
  const refusals: Refusal[] = []
  t.equal(await verifier.verifyToken('bad', { onRefusal: (r) => refusals.push(r) }), null)
  t.same(
    refusals.map((r) => r.code),
    ['bad_signature'],
  )
  const silent = withRevocationCheck(
    { verifyToken: () => Promise.resolve(null) },
    createMemoryRevocationList(),
  )
  const seen: Refusal[] = []
  t.equal(await silent.verifyToken('x', { onRefusal: (r) => seen.push(r) }), null)
  t.same(
    seen.map((r) => r.code),
    ['rejected'],
  )
})

t.test('an untrustworthy list is a 503, never an accept', async (t) => {
  const broken = (isRevoked: () => unknown): RevocationList => ({
    isRevoked: isRevoked as () => boolean,
    revoke: () => undefined,
    subscribe: () => () => undefined,
  })
  for (const list of [
    broken(() => {
      throw new Error('stale')
    }),
    broken(() => 'no'),
    broken(() => Promise.resolve(false)),
  ]) {
    await t.rejects(withRevocationCheck(inner, list).verifyToken('alice-token'), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      statusCode: 503,
    })
  }
  t.throws(() => withRevocationCheck({} as never, createMemoryRevocationList()), {
    message: /^verifier /,
  })
  t.throws(() => withRevocationCheck(inner, {} as never), { message: /^revocations / })
  const controller = new AbortController()
  controller.abort(new Error('gone'))
  await t.rejects(
    withRevocationCheck(inner, createMemoryRevocationList()).verifyToken('x', {
      signal: controller.signal,
    }),
    /gone/,
  )
  const passes: AbortSignal[] = []
  const spying = withRevocationCheck(
    {
      verifyToken: (token, options) => {
        if (options?.signal !== undefined) passes.push(options.signal)
        return inner.verifyToken(token)
      },
    },
    createMemoryRevocationList(),
  )
  const live = new AbortController()
  await spying.verifyToken('alice-token', { signal: live.signal })
  t.equal(passes[0], live.signal, 'the signal reaches the inner verifier')
})

t.test('the verified-token cache consults the revocation list on hits too', async (t) => {
  let calls = 0
  const counting = defineVerifier('count', (token) => {
    calls++
    return accessToken(token, {
      subject: 'alice',
      issuer: 'https://as',
      claims: { iat: T - 10, jti: `jti-${token}` },
    })
  })
  let stale = false
  const list = createMemoryRevocationList({ now: () => T * 1000 })
  const staleable: RevocationList = {
    ...list,
    isRevoked: (token) => {
      if (stale) throw new Error('copy too old')
      return list.isRevoked(token)
    },
  }
  const cached = createCachedVerifier(counting, { now: () => T * 1000, revocations: staleable })
  t.ok(await cached.verifyToken('a'))
  t.ok(await cached.verifyToken('a'))
  t.equal(calls, 1)
  await revokeToken(list, { jti: 'jti-a', expiresAt: T + 60 })
  const refusals: Refusal[] = []
  t.equal(await cached.verifyToken('a', { onRefusal: (r) => refusals.push(r) }), null)
  t.same(
    refusals.map((r) => [r.code, r.description]),
    [['revoked', 'The access token has been revoked']],
  )
  t.equal(calls, 1, 'refused on the hit')
  t.ok(await cached.verifyToken('b'), 'another token of the same subject is not revoked by jti')
  stale = true
  await t.rejects(cached.verifyToken('b'), { code: 'ERR_VERIFIER_UNAVAILABLE', statusCode: 503 })
  await t.rejects(
    cached.verifyToken('fresh'),
    { code: 'ERR_VERIFIER_UNAVAILABLE' },
    'on a load too',
  )
  t.throws(() => createCachedVerifier(counting, { revocations: {} as RevocationList }), {
    message: /^revocations /,
  })
})
