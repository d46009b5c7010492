import t from 'tap'
import { Refusal, VerifierUnavailableError } from '@bearerkit/core'
import { createJwsVerifier, createJwtVerifier, type KeyResolver } from '../src/index.js'
import { AUDIENCE, ISSUER, NOW, NOW_S, mint, pair } from './fixtures/keys.js'

// A clock is user code: one that answers no number would make every time comparison false.
t.test('a clock that gives no number is a 503, never an acceptance', async (t) => {
  const rsa = await pair('RS256')
  const expired = await mint(rsa, { claims: { exp: NOW_S - 3600 } })
  const early = await mint(rsa, { claims: { nbf: NOW_S + 3600 } })
  const clocks: Array<[string, () => number]> = [
    ['NaN', () => NaN],
    ['undefined', () => undefined as unknown as number],
    ['a string', () => 'now' as unknown as number],
    ['Infinity', () => Infinity],
  ]
  for (const [name, now] of clocks) {
    const verifier = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, key: rsa.pem, now })
    for (const token of [expired, early]) {
      await t.rejects(
        verifier.verifyToken(token),
        { name: 'VerifierUnavailableError', reason: 'clock_error' },
        `clock ${name}`,
      )
    }
  }
  // The same tokens with a working clock are refused, and a valid one accepted.
  const working = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    key: rsa.pem,
    now: () => NOW,
  })
  t.equal(await working.verifyToken(expired), null)
  t.equal(await working.verifyToken(early), null)
  t.ok(await working.verifyToken(await mint(rsa)))
})

t.test('a validate hook that never answers gives way to the caller abort', async (t) => {
  const rsa = await pair('RS256')
  let called = 0
  const verifier = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    key: rsa.pem,
    now: () => NOW,
    validate: () => {
      called++
      return new Promise<boolean>(() => undefined)
    },
  })
  const controller = new AbortController()
  const reason = new Error('client went away')
  const pending = verifier.verifyToken(await mint(rsa), { signal: controller.signal })
  setImmediate(() => controller.abort(reason))
  await t.rejects(pending, reason, 'rejects with the abort reason, not null')
  t.equal(called, 1)
  // An abort that is not an Error still rejects (never a refusal).
  const other = new AbortController()
  const second = verifier.verifyToken(await mint(rsa), { signal: other.signal })
  setImmediate(() => other.abort('gone'))
  await t.rejects(second, { message: 'gone' })
})

t.test('a validate hook that fails after the abort is still no refusal', async (t) => {
  const rsa = await pair('RS256')
  const controller = new AbortController()
  const verifier = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    key: rsa.pem,
    now: () => NOW,
    validate: () => {
      controller.abort(new Error('aborted inside'))
      throw new Error('hook failed')
    },
  })
  await t.rejects(verifier.verifyToken(await mint(rsa), { signal: controller.signal }), {
    message: 'aborted inside',
  })
  // Without an abort, a throw refuses as documented.
  const refusing = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    key: rsa.pem,
    now: () => NOW,
    validate: () => {
      throw new Error('hook failed')
    },
  })
  t.equal(await refusing.verifyToken(await mint(rsa)), null)
})

t.test('a key resolver that never answers gives way to the caller abort', async (t) => {
  const rsa = await pair('RS256')
  const keys: KeyResolver = {
    resolve: () => new Promise(() => undefined),
    ready: () => Promise.resolve(),
    close: () => undefined,
  }
  const verifier = createJwsVerifier({ keys, types: null })
  const controller = new AbortController()
  const reason = new Error('deadline')
  const pending = verifier.verify(await mint(rsa), controller.signal)
  setImmediate(() => controller.abort(reason))
  await t.rejects(pending, reason)
  // A resolver that answers late, after the abort, changes nothing.
  let answer!: (value: Refusal) => void
  const late: KeyResolver = {
    resolve: () =>
      new Promise((resolve) => {
        answer = resolve
      }),
    ready: () => Promise.resolve(),
    close: () => undefined,
  }
  const other = new AbortController()
  const second = createJwsVerifier({ keys: late, types: null }).verify(
    await mint(rsa),
    other.signal,
  )
  other.abort(new VerifierUnavailableError('stopped', { reason: 'closed' }))
  answer(new Refusal('unknown_key', 'late'))
  await t.rejects(second, { name: 'VerifierUnavailableError', reason: 'closed' })
})

t.test('a resolver that rejects after the abort leaves no unhandled rejection', async (t) => {
  const rsa = await pair('RS256')
  const keys: KeyResolver = {
    resolve: () => Promise.reject(new Error('resolver failed late')),
    ready: () => Promise.resolve(),
    close: () => undefined,
  }
  // The process would end on an unhandled rejection of the resolver's promise.
  await t.rejects(
    createJwsVerifier({ keys, types: null }).verify(
      await mint(rsa),
      AbortSignal.abort(new Error('already')),
    ),
    { message: 'already' },
  )
  await new Promise((resolve) => setImmediate(resolve))
})
