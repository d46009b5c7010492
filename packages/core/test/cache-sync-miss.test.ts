// A miss in front of a verifier that answers at once (a JWT with a static key, any check of
// defineVerifier that returns without awaiting) is decided at once too: verifyTokenNow gives the
// answer itself, with every bound of the promise path.
import t from 'tap'
import {
  Refusal,
  VerifierUnavailableError,
  createCachedVerifier,
  defineVerifier,
  isPromiseLike,
  verifyTokenNow,
  type AccessToken,
  type TokenVerifier,
} from '../src/index.js'
import { accessToken } from './fixtures/tokens.js'

const syncInner = (decide: (token: string) => AccessToken | Refusal) => {
  const calls: string[] = []
  const verifier = defineVerifier('inner', (token) => {
    calls.push(token)
    return decide(token)
  })
  return Object.assign(verifier, { calls })
}

t.test('a miss on a synchronous verifier answers at once, and is then a hit', async (t) => {
  const inner = syncInner((token) => accessToken(token, { expiresAt: Date.now() / 1000 + 60 }))
  const cached = createCachedVerifier(inner)
  const first = verifyTokenNow(cached, 'tok-1')
  t.notOk(isPromiseLike(first), 'the miss is not a promise')
  t.equal((first as AccessToken).token, 'tok-1')
  t.ok(Object.isFrozen(first), 'the stored answer is sealed')
  t.equal(cached.size, 1, 'and stored')
  const second = verifyTokenNow(cached, 'tok-1')
  t.equal(second, first, 'the hit is the stored answer')
  t.same(inner.calls, ['tok-1'], 'one inner call')
  t.equal((await cached.verifyToken('tok-1'))?.token, 'tok-1', 'verifyToken agrees')
})

t.test('a synchronous refusal is null at once, with its reason, and not cached', async (t) => {
  const inner = syncInner(() => new Refusal('bad_signature', 'The signature does not verify'))
  const cached = createCachedVerifier(inner)
  const reasons: string[] = []
  const answer = verifyTokenNow(cached, 'forged', { onRefusal: (r) => reasons.push(r.code) })
  t.equal(answer, null)
  t.same(reasons, ['bad_signature'])
  t.equal(cached.size, 0, 'no negativeTtl: nothing stored')
  t.equal(await cached.verifyToken('forged'), null)
  t.same(inner.calls, ['forged', 'forged'], 'asked again')
})

t.test('a synchronous refusal is cached with negativeTtl, its reason kept', async (t) => {
  const inner = syncInner(() => new Refusal('inactive', 'The access token is not active'))
  const cached = createCachedVerifier(inner, { negativeTtl: 30 })
  const reasons: string[] = []
  t.equal(verifyTokenNow(cached, 'gone', { onRefusal: (r) => reasons.push(r.code) }), null)
  t.equal(verifyTokenNow(cached, 'gone', { onRefusal: (r) => reasons.push(r.code) }), null)
  t.same(reasons, ['inactive', 'inactive'])
  t.same(inner.calls, ['gone'], 'the second refusal came from the cache')
})

t.test('an unavailable inner verifier throws at once and nothing is cached', async (t) => {
  let fail = true
  const inner = syncInner((token) => {
    if (fail) throw new VerifierUnavailableError('down', { reason: 'upstream_error' })
    return accessToken(token, { expiresAt: Date.now() / 1000 + 60 })
  })
  const cached = createCachedVerifier(inner)
  t.throws(() => verifyTokenNow(cached, 'tok'), { code: 'ERR_VERIFIER_UNAVAILABLE' })
  await t.rejects(cached.verifyToken('tok'), { code: 'ERR_VERIFIER_UNAVAILABLE' })
  t.equal(cached.size, 0)
  fail = false
  t.equal((verifyTokenNow(cached, 'tok') as AccessToken).token, 'tok', 'recovered')
})

t.test('an answer that is not an AccessToken is unavailable, at once', async (t) => {
  const inner = defineVerifier('odd', () => ({ token: 'x', claims: {} }) as unknown as AccessToken)
  const cached = createCachedVerifier(inner)
  t.throws(() => verifyTokenNow(cached, 'x'), {
    name: 'VerifierUnavailableError',
    reason: 'invalid_response',
  })
  t.equal(cached.size, 0)
})

t.test('the bounds reported by a synchronous verifier hold on the next hit', async (t) => {
  let now = 1_000_000_000
  const inner = defineVerifier('bounded', (token, options) => {
    options.onValidity?.({ validUntil: now / 1000 + 5 })
    return accessToken(token, { expiresAt: now / 1000 + 3600 })
  })
  const cached = createCachedVerifier(inner, { now: () => now })
  t.ok(verifyTokenNow(cached, 'tok'))
  now += 4_999
  t.ok(verifyTokenNow(cached, 'tok'), 'a hit inside the reported bound')
  now += 1
  // At the bound the entry says nothing: the inner verifier decides again (and still accepts).
  let asked = 0
  const again = verifyTokenNow(cached, 'tok', { onValidity: () => asked++ })
  t.ok(again)
  t.equal(asked, 1, 'the window is passed on to the caller')
})

t.test('a bound token is refused at once without the proof context', async (t) => {
  const inner = syncInner((token) =>
    accessToken(token, { claims: { cnf: { jkt: 'thumb' } }, expiresAt: Date.now() / 1000 + 60 }),
  )
  const cached = createCachedVerifier(inner)
  const reasons: string[] = []
  t.equal(verifyTokenNow(cached, 'bound', { onRefusal: (r) => reasons.push(r.code) }), null)
  t.same(reasons, ['sender_constrained'])
})

t.test('a user verifier that answers with promises still shares one load', async (t) => {
  let release: () => void = () => undefined
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let calls = 0
  const inner: TokenVerifier = {
    async verifyToken(token) {
      calls++
      await gate
      return accessToken(token, { expiresAt: Date.now() / 1000 + 60 })
    },
  }
  const cached = createCachedVerifier(inner)
  const answers = Array.from({ length: 50 }, () => verifyTokenNow(cached, 'shared'))
  t.ok(
    answers.every((a) => a !== null && isPromiseLike(a)),
    'a miss on an async verifier is a promise',
  )
  release()
  const settled = await Promise.all(answers.map((answer) => Promise.resolve(answer)))
  t.equal(calls, 1, 'one inner call for 50 concurrent first uses')
  t.ok(settled.every((a) => a?.token === 'shared'))
})

t.test('a user verifier that throws instead of rejecting is a rejection', async (t) => {
  const inner: TokenVerifier = {
    verifyToken() {
      throw new VerifierUnavailableError('thrown', { reason: 'upstream_error' })
    },
  }
  const cached = createCachedVerifier(inner)
  await t.rejects(cached.verifyToken('tok'), { code: 'ERR_VERIFIER_UNAVAILABLE' })
  t.equal(cached.size, 0)
})

t.test('a user verifier whose then getter throws is a rejection, never a decision', async (t) => {
  const hostile = {}
  Object.defineProperty(hostile, 'then', {
    get() {
      throw new Error('getter')
    },
  })
  const inner: TokenVerifier = {
    verifyToken: () => hostile as Promise<AccessToken | null>,
  }
  const cached = createCachedVerifier(inner)
  await t.rejects(cached.verifyToken('tok'), { message: 'getter' })
  t.equal(cached.size, 0)
})
