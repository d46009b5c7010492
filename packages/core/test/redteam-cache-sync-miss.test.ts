// Hostile inner verifiers in front of a cache whose miss is decided at once (verifyTokenNow): the
// synchronous miss must answer exactly what the promise path answers, cache exactly what it
// cached, and never keep an unavailable verifier or a refusal of one caller's proof.
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
  type VerifyOptions,
} from '../src/index.js'
import { accessToken } from './fixtures/tokens.js'

const NOW = 1_700_000_000_000
const live = (token: string, fields: Partial<AccessToken> = {}): AccessToken =>
  accessToken(token, { expiresAt: NOW / 1000 + 600, ...fields })

// Whatever the verifier did, as text: the AccessToken's token, null, or the error's name, reason
// and message. `now` says whether verifyTokenNow answered without a promise.
async function outcome(answer: () => unknown): Promise<string> {
  try {
    const given = answer()
    const value = (
      given !== null && isPromiseLike(given) ? await given : given
    ) as AccessToken | null
    return value === null ? 'null' : `token ${value.token}`
  } catch (error) {
    const e = error as { name?: string; reason?: string; message?: string }
    return `${e.name ?? '?'} ${e.reason ?? '-'} ${e.message ?? '?'}`
  }
}

interface Case {
  readonly name: string
  readonly inner: () => TokenVerifier
  /** What verifyToken and verifyTokenNow both answer, twice in a row. */
  readonly answer: string
  /** Entries held after the first verification (negativeTtl 30 s). */
  readonly size: number
  /** The refusal reasons the caller saw over the four verifications. */
  readonly reasons: readonly string[]
}

const NO_ACCESS_TOKEN =
  'VerifierUnavailableError invalid_response The inner verifier answered with no AccessToken'

const CASES: readonly Case[] = [
  {
    name: 'a plain verifier that throws synchronously',
    inner: () => ({
      verifyToken() {
        throw new Error('inner bug')
      },
    }),
    answer: 'Error - inner bug',
    size: 0,
    reasons: [],
  },
  {
    name: 'a defineVerifier check that throws an unavailable error',
    inner: () =>
      defineVerifier('down', () => {
        throw new VerifierUnavailableError('down', { reason: 'upstream_error' })
      }),
    answer: 'VerifierUnavailableError upstream_error down',
    size: 0,
    reasons: [],
  },
  {
    name: 'a plain verifier answering undefined at once',
    inner: () => ({ verifyToken: (() => undefined) as unknown as TokenVerifier['verifyToken'] }),
    answer: NO_ACCESS_TOKEN,
    size: 0,
    reasons: [],
  },
  {
    name: 'a plain verifier answering a number at once',
    inner: () => ({ verifyToken: (() => 42) as unknown as TokenVerifier['verifyToken'] }),
    answer: NO_ACCESS_TOKEN,
    size: 0,
    reasons: [],
  },
  {
    name: 'a plain verifier answering a Refusal object instead of null',
    inner: () => ({
      verifyToken: (() =>
        new Refusal('inactive', 'gone')) as unknown as TokenVerifier['verifyToken'],
    }),
    answer: NO_ACCESS_TOKEN,
    size: 0,
    reasons: [],
  },
  {
    name: 'a plain verifier answering null at once, without a reason',
    inner: () => ({ verifyToken: (() => null) as unknown as TokenVerifier['verifyToken'] }),
    answer: 'null',
    size: 1,
    // The second and fourth verifications are hits of the cached refusal.
    reasons: ['rejected', 'rejected', 'rejected', 'rejected'],
  },
  {
    name: 'a verifier answering an AccessToken for another token',
    inner: () => defineVerifier('confused', () => live('someone-else')),
    answer: 'null',
    // Kept (the promise path kept it too): every hit compares the token and refuses.
    size: 1,
    reasons: ['rejected', 'rejected', 'rejected', 'rejected'],
  },
  {
    name: 'a thenable that calls back twice, synchronously, refusal first',
    inner: () => ({
      verifyToken: ((token: string) => ({
        then(resolve: (value: unknown) => void) {
          resolve(null)
          resolve(live(token))
        },
      })) as unknown as TokenVerifier['verifyToken'],
    }),
    answer: 'null',
    size: 1,
    reasons: ['rejected', 'rejected', 'rejected', 'rejected'],
  },
  {
    name: 'a thenable that accepts and then throws',
    inner: () => ({
      verifyToken: ((token: string) => ({
        then(resolve: (value: unknown) => void) {
          resolve(live(token))
          throw new Error('late')
        },
      })) as unknown as TokenVerifier['verifyToken'],
    }),
    answer: 'token tok',
    size: 1,
    reasons: [],
  },
  {
    name: 'a synchronous accept with a NaN bound',
    inner: () =>
      defineVerifier('nan', (token, options) => {
        options.onValidity?.({ validUntil: Number.NaN })
        return live(token)
      }),
    answer: 'token tok',
    size: 0,
    reasons: [],
  },
  {
    name: 'a synchronous accept with a string bound',
    inner: () =>
      defineVerifier('text', (token, options) => {
        options.onValidity?.({ notBefore: '0' as unknown as number })
        return live(token)
      }),
    answer: 'token tok',
    size: 0,
    reasons: [],
  },
  {
    name: 'a synchronous sender_constrained refusal',
    inner: () => defineVerifier('bound', () => new Refusal('sender_constrained', 'no proof')),
    answer: 'null',
    size: 0,
    reasons: [
      'sender_constrained',
      'sender_constrained',
      'sender_constrained',
      'sender_constrained',
    ],
  },
]

for (const c of CASES) {
  t.test(`synchronous miss, ${c.name}: verifyToken and verifyTokenNow agree`, async (t) => {
    const cached = createCachedVerifier(c.inner(), { negativeTtl: 30, now: () => NOW })
    const reasons: string[] = []
    const options: VerifyOptions = { onRefusal: (r) => reasons.push(r.code) }
    t.equal(await outcome(() => cached.verifyToken('tok', options)), c.answer, 'verifyToken')
    t.equal(cached.size, c.size, 'entries after the miss')
    t.equal(await outcome(() => cached.verifyToken('tok', options)), c.answer, 'again')
    const fresh = createCachedVerifier(c.inner(), { negativeTtl: 30, now: () => NOW })
    t.equal(await outcome(() => verifyTokenNow(fresh, 'tok', options)), c.answer, 'verifyTokenNow')
    t.equal(fresh.size, c.size, 'the same entries')
    t.equal(await outcome(() => verifyTokenNow(fresh, 'tok', options)), c.answer, 'and again')
    t.same(reasons, c.reasons)
  })
}

t.test('an unavailable inner verifier is never cached, with negativeTtl either', async (t) => {
  let calls = 0
  const cached = createCachedVerifier(
    defineVerifier('flaky', () => {
      calls++
      throw new VerifierUnavailableError('down', { reason: 'timeout' })
    }),
    { negativeTtl: 300, now: () => NOW },
  )
  for (let i = 0; i < 3; i++) {
    t.throws(() => verifyTokenNow(cached, 'tok'), { name: 'VerifierUnavailableError' })
  }
  t.equal(cached.size, 0)
  t.equal(calls, 3, 'every call asked the inner verifier')
})

t.test('a refusal of one proof is never served to a caller with the right one', async (t) => {
  let calls = 0
  const inner = defineVerifier('dpop', (token, options) => {
    calls++
    return options.senderConstraint?.dpopJkt === 'right'
      ? live(token, { claims: { cnf: { jkt: 'right' } } })
      : new Refusal('sender_constrained', 'The proof does not match')
  })
  const cached = createCachedVerifier(inner, { negativeTtl: 300, now: () => NOW })
  const reasons: string[] = []
  const onRefusal = (r: Refusal): void => {
    reasons.push(r.code)
  }
  const wrong = { onRefusal, senderConstraint: { dpopJkt: 'wrong' } }
  t.equal(verifyTokenNow(cached, 'bound', wrong), null)
  t.equal(cached.size, 0, 'the refusal of the wrong proof is not kept')
  const right = verifyTokenNow(cached, 'bound', { senderConstraint: { dpopJkt: 'right' } })
  t.equal((right as AccessToken).token, 'bound', 'the right proof is accepted at once')
  t.equal(verifyTokenNow(cached, 'bound', wrong), null, 'a hit checks the proof again')
  t.equal(verifyTokenNow(cached, 'bound', { onRefusal }), null, 'and its absence')
  t.same(reasons, ['sender_constrained', 'sender_constrained', 'sender_constrained'])
  t.equal(calls, 2, 'the accepted answer served the last two')
})

t.test('re-entrant verification of the same token during the synchronous check', async (t) => {
  const inner: string[] = []
  const verifier = defineVerifier('reentrant', (token) => {
    inner.push(token)
    if (inner.length === 1) {
      const nested = verifyTokenNow(cached, token)
      inner.push(`nested ${(nested as AccessToken | null)?.token ?? 'null'}`)
    }
    return live(token)
  })
  const cached = createCachedVerifier(verifier, { now: () => NOW })
  const answer = verifyTokenNow(cached, 'tok')
  t.equal((answer as AccessToken).token, 'tok')
  t.same(inner, ['tok', 'tok', 'nested tok'], 'the nested call was decided at once too')
  t.equal(cached.size, 1)
  t.equal((verifyTokenNow(cached, 'tok') as AccessToken).token, 'tok', 'then a hit')
  t.equal(inner.length, 3, 'without asking again')
})

t.test('re-entrant verification of a refused token keeps both answers apart', async (t) => {
  const reasons: string[] = []
  const verifier = defineVerifier('reentrant', (token) => {
    if (token === 'forged') return new Refusal('bad_signature', 'The signature does not verify')
    const nested = verifyTokenNow(cached, 'forged', {
      onRefusal: (r) => reasons.push(`nested ${r.code}`),
    })
    reasons.push(`nested answered ${nested === null ? 'null' : 'an answer'}`)
    return live(token)
  })
  const cached = createCachedVerifier(verifier, { negativeTtl: 30, now: () => NOW })
  const answer = verifyTokenNow(cached, 'good', { onRefusal: (r) => reasons.push(r.code) })
  t.equal((answer as AccessToken).token, 'good')
  t.same(reasons, ['nested bad_signature', 'nested answered null'])
  t.equal(cached.size, 2)
  t.equal(verifyTokenNow(cached, 'forged'), null, 'the refusal is its own entry')
  t.equal((verifyTokenNow(cached, 'good') as AccessToken).token, 'good', 'and so is the token')
})

t.test('clear() during the synchronous check: answered, not stored', async (t) => {
  let calls = 0
  const verifier = defineVerifier('clearing', (token) => {
    calls++
    if (calls === 1) cached.clear()
    return live(token)
  })
  const cached = createCachedVerifier(verifier, { now: () => NOW })
  t.equal((verifyTokenNow(cached, 'tok') as AccessToken).token, 'tok')
  t.equal(cached.size, 0, 'a load that started before clear() stores nothing')
  t.equal((verifyTokenNow(cached, 'tok') as AccessToken).token, 'tok')
  t.equal(calls, 2, 'the next use asked again')
  t.equal(cached.size, 1)
})

t.test('an async inner verifier: one load for concurrent first uses, either way in', async (t) => {
  let release: () => void = () => undefined
  const ready = new Promise<void>((resolve) => {
    release = resolve
  })
  let calls = 0
  const inner = defineVerifier('slow', async (token) => {
    calls++
    await ready
    return live(token)
  })
  const cached = createCachedVerifier(inner, { now: () => NOW })
  const answers = [
    ...Array.from({ length: 10 }, () => verifyTokenNow(cached, 'shared')),
    ...Array.from({ length: 10 }, () => cached.verifyToken('shared')),
  ]
  t.ok(
    answers.every((answer) => answer !== null && isPromiseLike(answer)),
    'a miss on an async verifier is a promise',
  )
  release()
  const settled = await Promise.all(answers.map((answer) => Promise.resolve(answer)))
  t.equal(calls, 1, 'one inner call for 20 concurrent first uses')
  t.same(
    settled.map((answer) => answer?.token),
    Array.from({ length: 20 }, () => 'shared'),
  )
  t.equal((verifyTokenNow(cached, 'shared') as AccessToken).token, 'shared', 'then a hit at once')
})

t.test('a synchronous miss for a caller whose signal is already aborted', async (t) => {
  let calls = 0
  const cached = createCachedVerifier(
    defineVerifier('count', (token) => {
      calls++
      return live(token)
    }),
    { now: () => NOW },
  )
  const controller = new AbortController()
  controller.abort(new Error('gave up'))
  t.throws(() => verifyTokenNow(cached, 'tok', { signal: controller.signal }), {
    message: 'gave up',
  })
  await t.rejects(cached.verifyToken('tok', { signal: controller.signal }), { message: 'gave up' })
  t.equal(calls, 0, 'nothing was asked')
  t.equal(cached.size, 0)
})
