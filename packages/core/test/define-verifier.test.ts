import diagnostics from 'node:diagnostics_channel'
import t from 'tap'
import {
  Refusal,
  VERIFY_CHANNEL,
  VerifierUnavailableError,
  defineVerifier,
  isPromiseLike,
  type VerificationEvent,
} from '../src/index.js'
import { accessToken } from './fixtures/tokens.js'

const capture = (t: { teardown(fn: () => void): void }): VerificationEvent[] => {
  const events: VerificationEvent[] = []
  const listener = (message: unknown): void => {
    events.push(message as VerificationEvent)
  }
  diagnostics.subscribe(VERIFY_CHANNEL, listener)
  t.teardown(() => diagnostics.unsubscribe(VERIFY_CHANNEL, listener))
  return events
}

t.test('accepted tokens resolve and publish an event without the token', async (t) => {
  const events = capture(t)
  const v = defineVerifier('test', async (token) =>
    accessToken(token, { clientId: 'c1', issuer: 'https://as' }),
  )
  const result = await v.verifyToken('secret-token')
  t.equal(result?.clientId, 'c1')
  t.equal(events.length, 1)
  t.match(events[0], {
    verifier: 'test',
    outcome: 'accepted',
    clientId: 'c1',
    issuer: 'https://as',
  })
  t.type(events[0]?.duration, 'number')
  t.notMatch(JSON.stringify(events), 'secret-token')
  const noIssuer = defineVerifier('test', async (token) => accessToken(token))
  await noIssuer.verifyToken('x2')
  t.equal(events.length, 2)
  t.notOk('issuer' in (events[1] as object), 'no issuer key when the token has none')
})

t.test('refusals become null, call onRefusal and publish the reason', async (t) => {
  const events = capture(t)
  const v = defineVerifier(
    'test',
    async () => new Refusal('expired', 'The access token has expired'),
  )
  const seen: Refusal[] = []
  t.equal(await v.verifyToken('secret-token', { onRefusal: (r) => seen.push(r) }), null)
  t.equal(seen.length, 1)
  t.equal(seen[0]?.code, 'expired')
  t.match(events[0], { outcome: 'refused', reason: 'expired', description: /expired/ })
  t.notMatch(JSON.stringify(events), 'secret-token')
  t.equal(await v.verifyToken('x'), null, 'works without options')
})

t.test('a refusal from another copy of core is recognised by shape', async (t) => {
  const foreign = { code: 'bad_signature', description: 'bad' } as unknown as Refusal
  const v = defineVerifier('test', async () => foreign)
  t.equal(await v.verifyToken('x'), null)
})

t.test('unavailable rejects, is published, and is never null', async (t) => {
  const events = capture(t)
  const v = defineVerifier('test', async () => {
    throw new VerifierUnavailableError('down', { reason: 'timeout' })
  })
  await t.rejects(v.verifyToken('x'), { code: 'ERR_VERIFIER_UNAVAILABLE' })
  t.match(events[0], { outcome: 'unavailable', errorCode: 'ERR_VERIFIER_UNAVAILABLE' })
})

t.test('other errors propagate unchanged and are not published as decisions', async (t) => {
  const events = capture(t)
  const boom = new Error('bug')
  const v = defineVerifier('test', async () => {
    throw boom
  })
  await t.rejects(v.verifyToken('x'), boom)
  t.equal(events.length, 0)
})

t.test('empty or non-string tokens are refused without calling check', async (t) => {
  let calls = 0
  const v = defineVerifier('test', async (token) => {
    calls++
    return accessToken(token)
  })
  for (const bad of ['', undefined, null, 42, {}]) {
    const seen: Refusal[] = []
    t.equal(await v.verifyToken(bad as string, { onRefusal: (r) => seen.push(r) }), null)
    t.equal(seen[0]?.code, 'malformed')
  }
  t.equal(calls, 0)
})

t.test('an aborted signal rejects before any work', async (t) => {
  let calls = 0
  const v = defineVerifier('test', async (token) => {
    calls++
    return accessToken(token)
  })
  const controller = new AbortController()
  controller.abort(new Error('gone'))
  await t.rejects(v.verifyToken('x', { signal: controller.signal }), { message: 'gone' })
  t.equal(calls, 0)
})

t.test('no events are built when nobody listens', async (t) => {
  t.equal(diagnostics.channel(VERIFY_CHANNEL).hasSubscribers, false)
  const v = defineVerifier('test', async () => new Refusal('expired', 'x'))
  t.equal(await v.verifyToken('x'), null)
  const u = defineVerifier('test', async () => {
    throw new VerifierUnavailableError()
  })
  await t.rejects(u.verifyToken('x'), { code: 'ERR_VERIFIER_UNAVAILABLE' })
})

t.test('a check that answers synchronously honours the same contract', async (t) => {
  const events = capture(t)
  const accept = defineVerifier('sync', (token) => accessToken(token, { clientId: 'c9' }))
  const pending = accept.verifyToken('t1')
  t.ok(pending instanceof Promise, 'still a promise')
  t.equal((await pending)?.clientId, 'c9')
  const refuse = defineVerifier(
    'sync',
    () => new Refusal('inactive', 'The access token is revoked'),
  )
  const seen: string[] = []
  t.equal(await refuse.verifyToken('t2', { onRefusal: (r) => seen.push(r.code) }), null)
  t.same(seen, ['inactive'])
  t.same(
    events.map((e) => e.outcome),
    ['accepted', 'refused'],
  )
  // Throws become rejections, never synchronous throws out of verifyToken.
  const unavailable = new VerifierUnavailableError('down')
  const down = defineVerifier('sync', () => {
    throw unavailable
  })
  let result: Promise<unknown> | undefined
  t.doesNotThrow(() => {
    result = down.verifyToken('t3')
  })
  await t.rejects(result as Promise<unknown>, unavailable)
  t.match(events[2], {
    verifier: 'sync',
    outcome: 'unavailable',
    errorCode: 'ERR_VERIFIER_UNAVAILABLE',
  })
  const boom = new Error('onRefusal failed')
  t.doesNotThrow(() => {
    result = refuse.verifyToken('t4', {
      onRefusal: () => {
        throw boom
      },
    })
  })
  await t.rejects(result as Promise<unknown>, boom)
  const aborted = AbortSignal.abort(new Error('stop'))
  t.doesNotThrow(() => {
    result = accept.verifyToken('t5', { signal: aborted })
  })
  await t.rejects(result as Promise<unknown>, { message: 'stop' })
})

t.test('isPromiseLike tells a promise or thenable from a value at hand', async (t) => {
  t.equal(isPromiseLike(Promise.resolve(1)), true)
  t.equal(isPromiseLike({ then: () => undefined }), true)
  t.equal(isPromiseLike(new Refusal('inactive', 'x')), false)
  t.equal(isPromiseLike({ then: 'not a function' }), false)
  t.equal(isPromiseLike([]), false)
})
