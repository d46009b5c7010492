import diagnostics from 'node:diagnostics_channel'
import t from 'tap'
import {
  DEFAULT_STORE_TIMEOUT,
  STORE_CHANNEL,
  VerifierUnavailableError,
  callStore,
  invalidStoreAnswer,
  publishStoreEvent,
  readStoreTimeout,
  storeUnavailable,
  type StoreEvent,
} from '../src/index.js'

const events: StoreEvent[] = []
const listen = (event: unknown): void => {
  events.push(event as StoreEvent)
}
diagnostics.subscribe(STORE_CHANNEL, listen)
t.teardown(() => diagnostics.unsubscribe(STORE_CHANNEL, listen))
t.beforeEach(() => {
  events.length = 0
})

t.test('an answer passes through', async (t) => {
  t.equal(await callStore('replay', () => true, { timeout: 50 }), true)
  t.equal(await callStore('replay', async () => 'x', { timeout: 50 }), 'x')
  t.same(events, [])
})

t.test('a store that never answers is a 503 at the deadline, and its signal aborts', async (t) => {
  let seen: AbortSignal | undefined
  const started = Date.now()
  await t.rejects(
    callStore(
      'session',
      (signal) => {
        seen = signal
        return new Promise(() => undefined)
      },
      { timeout: 30 },
    ),
    {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'store_timeout',
      statusCode: 503,
      headers: { 'retry-after': '1' },
      message: 'The session store did not answer in time',
    },
  )
  t.ok(Date.now() - started < 1_000)
  t.equal(seen?.aborted, true)
  t.same(events, [{ store: 'session', event: 'failure', reason: 'store_timeout' }])
})

t.test(
  'a store that throws or rejects is a 503 that keeps the cause out of the message',
  async (t) => {
    const secret = new Error('WRONGTYPE key bk:s:{abc} holds secret-value')
    for (const work of [
      () => {
        throw secret
      },
      () => Promise.reject(secret),
    ]) {
      const error = await callStore('cache', work, { timeout: 50 }).catch((e: unknown) => e)
      t.ok(error instanceof VerifierUnavailableError)
      t.equal((error as VerifierUnavailableError).reason, 'store_error')
      t.equal((error as Error).cause, secret)
      t.notMatch((error as Error).message, /secret/)
    }
    // A non-Error rejection is wrapped too.
    await t.rejects(
      callStore('cache', () => Promise.reject(new Error('x')), { timeout: 50 }),
      { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'store_error' },
    )
    // A store's own VerifierUnavailableError passes as it is.
    const own = new VerifierUnavailableError('full', { reason: 'replay_store_full' })
    await t.rejects(
      callStore(
        'replay',
        () => {
          throw own
        },
        { timeout: 50 },
      ),
      own,
    )
    await t.rejects(
      callStore('replay', () => Promise.reject(own), { timeout: 50 }),
      own,
    )
  },
)

t.test("the caller's abort rejects with its reason, before and during the call", async (t) => {
  const before = new AbortController()
  before.abort(new Error('gone'))
  let called = false
  await t.rejects(
    callStore(
      'replay',
      () => {
        called = true
        return true
      },
      { timeout: 50, signal: before.signal },
    ),
    /gone/,
  )
  t.equal(called, false)
  const during = new AbortController()
  let inner: AbortSignal | undefined
  const pending = callStore(
    'replay',
    (signal) => {
      inner = signal
      return new Promise(() => undefined)
    },
    { timeout: 5_000, signal: during.signal },
  )
  during.abort(new Error('client left'))
  await t.rejects(pending, /client left/)
  t.equal(inner?.aborted, true)
  t.same(events, [], 'an abort is not a store failure')
  // A late answer after the deadline changes nothing.
  let answer: (value: boolean) => void = () => undefined
  const late = callStore('replay', () => new Promise<boolean>((resolve) => (answer = resolve)), {
    timeout: 10,
  })
  await t.rejects(late, { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'store_timeout' })
  answer(true)
})

t.test(
  'a synchronous answer arms no timer; a promise is still cut off at its deadline',
  async (t) => {
    const real = globalThis.setTimeout
    let armed = 0
    globalThis.setTimeout = ((...args: Parameters<typeof real>) => {
      armed++
      return real(...args)
    }) as typeof real
    t.teardown(() => {
      globalThis.setTimeout = real
    })
    t.equal(await callStore('replay', () => false, { timeout: 50 }), false)
    t.equal(await callStore('replay', () => null, { timeout: 50 }), null)
    t.same(await callStore('replay', () => ({ then: 'not a function' }), { timeout: 50 }), {
      then: 'not a function',
    })
    t.equal(armed, 0, 'no timer for answers given at once')
    t.equal(await callStore('replay', () => Promise.resolve(true), { timeout: 50 }), true)
    t.equal(armed, 1, 'one timer for a promise')
    await t.rejects(
      callStore('replay', () => new Promise<boolean>(() => undefined), { timeout: 20 }),
      { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'store_timeout' },
    )
    // A thenable that never calls back is cut off too; one whose then cannot be read is a failure.
    await t.rejects(
      callStore('replay', () => ({ then: () => undefined }), { timeout: 20 }),
      { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'store_timeout' },
    )
    const hostile = {
      get then(): never {
        throw new Error('no then')
      },
    }
    await t.rejects(
      callStore('replay', () => hostile, { timeout: 20 }),
      {
        code: 'ERR_VERIFIER_UNAVAILABLE',
        reason: 'store_error',
      },
    )
    t.same(
      events.map((event) => event.reason),
      ['store_timeout', 'store_timeout', 'store_error'],
    )
  },
)

t.test('options and helpers', async (t) => {
  t.equal(DEFAULT_STORE_TIMEOUT, 100)
  t.equal(readStoreTimeout('x', undefined), 100)
  t.equal(readStoreTimeout('x', 5), 5)
  for (const bad of [0, -1, Infinity, '100', null]) {
    t.throws(() => readStoreTimeout('options.timeout', bad), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: /^options\.timeout /,
    })
  }
  t.match(storeUnavailable('revocation', 'store_stale'), {
    message: 'The revocation list is too stale to be trusted',
    reason: 'store_stale',
  })
  t.match(storeUnavailable('replay', 'store_error'), { message: 'The replay store failed' })
  t.match(invalidStoreAnswer('cache'), {
    message: 'The shared cache gave an answer of the wrong type',
  })
  t.same(events, [{ store: 'cache', event: 'failure', reason: 'store_invalid_answer' }])
  diagnostics.unsubscribe(STORE_CHANNEL, listen)
  publishStoreEvent({ store: 'cache', event: 'recovered' })
  diagnostics.subscribe(STORE_CHANNEL, listen)
  t.equal(events.length, 1, 'nothing is published without a subscriber')
})

t.test(
  'a deadline longer than a timer holds waits, it does not end the call at once',
  async (t) => {
    // Node.js fires a timer set past 2^31 - 1 ms after 1 ms: a 30-day deadline must not turn every
    // store call into an immediate store_timeout.
    const outer = new AbortController()
    const call = callStore('replay', () => new Promise<boolean>(() => {}), {
      timeout: 30 * 24 * 3600 * 1000,
      signal: outer.signal,
    })
    const settled = await Promise.race([
      call.then(
        () => 'answered',
        () => 'rejected',
      ),
      new Promise((resolve) => setTimeout(() => resolve('pending'), 50)),
    ])
    t.equal(settled, 'pending')
    outer.abort()
    await t.rejects(call)
  },
)
