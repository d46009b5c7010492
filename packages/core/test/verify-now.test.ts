import t from 'tap'
import {
  Refusal,
  VerifierUnavailableError,
  createCachedVerifier,
  createVerifier,
  defineVerifier,
  verifyTokenNow,
  type AccessToken,
  type Refusal as RefusalType,
  type TokenVerifier,
  type VerifierConfig,
  type VerifyOptions,
} from '../src/index.js'
import { accessToken } from './fixtures/tokens.js'

const isPromise = (value: unknown): boolean => value instanceof Promise

t.test('verifyTokenNow: a synchronous check answers without a promise', async (t) => {
  const verifier = defineVerifier('sync', (token) =>
    token === 'good' ? accessToken(token) : new Refusal('rejected', 'no'),
  )
  const accepted = verifyTokenNow(verifier, 'good')
  t.equal(isPromise(accepted), false)
  t.equal((accepted as AccessToken).token, 'good')
  const refusals: RefusalType[] = []
  const refused = verifyTokenNow(verifier, 'bad', { onRefusal: (r) => refusals.push(r) })
  t.equal(refused, null, 'a refusal is null, at once')
  t.same(
    refusals.map((r) => r.code),
    ['rejected'],
  )
  t.equal(verifyTokenNow(verifier, ''), null, 'an empty token is refused as malformed')
  // verifyToken itself keeps the contract: always a promise.
  t.equal(isPromise(verifier.verifyToken('good')), true)
  t.equal((await verifier.verifyToken('good'))?.token, 'good')
})

t.test('verifyTokenNow: what verifyToken rejects with is thrown', async (t) => {
  const unavailable = new VerifierUnavailableError('down', { reason: 'test' })
  const verifier = defineVerifier('down', () => {
    throw unavailable
  })
  t.throws(() => verifyTokenNow(verifier, 'x'), unavailable)
  await t.rejects(verifier.verifyToken('x'), unavailable)
  const aborted = AbortSignal.abort(new Error('gone'))
  t.throws(() => verifyTokenNow(verifier, 'x', { signal: aborted }), { message: 'gone' })
  await t.rejects(verifier.verifyToken('x', { signal: aborted }), { message: 'gone' })
  const throwing = defineVerifier('refusing', () => new Refusal('rejected', 'no'))
  const boom = new Error('onRefusal failed')
  const onRefusal = (): void => {
    throw boom
  }
  t.throws(() => verifyTokenNow(throwing, 'x', { onRefusal }), boom)
  await t.rejects(throwing.verifyToken('x', { onRefusal }), boom)
})

t.test('verifyTokenNow: an asynchronous check gives a promise', async (t) => {
  const verifier = defineVerifier('async', async (token) => accessToken(token))
  const answer = verifyTokenNow(verifier, 'a')
  t.equal(isPromise(answer), true)
  t.equal((await answer)?.token, 'a')
})

t.test('verifyTokenNow: a cache hit answers at once, a miss through a promise', async (t) => {
  let calls = 0
  const inner = defineVerifier('inner', async (token) => {
    calls++
    return accessToken(token)
  })
  const cached = createCachedVerifier(inner)
  const miss = verifyTokenNow(cached, 'tok')
  t.equal(isPromise(miss), true, 'the first use loads')
  t.equal((await miss)?.token, 'tok')
  const hit = verifyTokenNow(cached, 'tok')
  t.equal(isPromise(hit), false, 'the hit is synchronous')
  t.equal((hit as AccessToken).token, 'tok')
  t.equal(calls, 1)
})

t.test(
  'verifyTokenNow: the wrappers of a configured verifier keep the synchronous hit',
  async (t) => {
    let calls = 0
    // A package factory as createVerifier loads it: the configured verifier is that package's
    // verifier, behind core's cache and the factory's two forwarding wrappers.
    const load = async (): Promise<unknown> => ({
      createJwtVerifier: () => ({
        verifyToken: async (token: string) => {
          calls++
          return token === 'good' ? accessToken(token) : null
        },
      }),
    })
    const verifier = await createVerifier({ type: 'jwt', issuer: 'https://as' } as VerifierConfig, {
      load,
    })
    const first = verifyTokenNow(verifier, 'good')
    t.equal(isPromise(first), true)
    t.equal((await first)?.token, 'good')
    const hit = verifyTokenNow(verifier, 'good')
    t.equal(isPromise(hit), false, 'a hit through every wrapper is synchronous')
    t.equal((hit as AccessToken).token, 'good')
    t.equal(calls, 1)
    t.equal(await verifyTokenNow(verifier, 'bad'), null)
    await verifier.close()
  },
)

t.test(
  'verifyTokenNow never skips a replaced verifyToken (wrappers, spreads, prototypes)',
  async (t) => {
    const inner = defineVerifier('inner', (token) => accessToken(token))
    const cached = createCachedVerifier(inner)
    await cached.verifyToken('tok')
    const refuseAll = async (): Promise<null> => null
    // A user's extra check, three ways: each must run, on a hit too.
    const spread: TokenVerifier = { ...cached, verifyToken: refuseAll }
    const derived = Object.assign(Object.create(cached) as TokenVerifier, {
      verifyToken: refuseAll,
    })
    const replaced = createCachedVerifier(inner)
    await replaced.verifyToken('tok')
    ;(replaced as { verifyToken: TokenVerifier['verifyToken'] }).verifyToken = refuseAll
    for (const [name, verifier] of [
      ['spread', spread],
      ['Object.create', derived],
      ['reassigned', replaced],
    ] as const) {
      t.equal(await verifyTokenNow(verifier, 'tok'), null, name)
    }
    // A wrapper that calls the cached verifier itself: its own check runs, then the cache answers.
    const seen: string[] = []
    const wrapper: TokenVerifier = {
      verifyToken: (token: string, options?: VerifyOptions) => {
        seen.push(token)
        return cached.verifyToken(token, options)
      },
    }
    t.equal((await verifyTokenNow(wrapper, 'tok'))?.token, 'tok')
    t.same(seen, ['tok'])
    // A plain object's verifyToken is called as a method, with its own `this`.
    const withThis = {
      prefix: 'x',
      verifyToken(this: { prefix: string }, token: string) {
        return Promise.resolve(accessToken(`${this.prefix}${token}`))
      },
    }
    t.equal((await verifyTokenNow(withThis, 'y'))?.token, 'xy')
  },
)
