// raceDeadline: the work's answer when it comes first, the deadline's error when it does not,
// and a late answer dropped; hostile thenables cannot settle it twice.
import t from 'tap'
import { MAX_TIMER_DELAY, raceDeadline, timerDelay } from '../src/index.js'

// The sweep is unreferenced (it never keeps a process alive): a server's socket does that in
// production, this timer here.
const alive = setInterval(() => {}, 1000)
t.teardown(() => clearInterval(alive))

const timedOut = () => new Error('deadline passed')
const never = new Promise<never>(() => {})

t.test('the work answers first: its value, and the reason is never built', async (t) => {
  let built = 0
  const reason = () => {
    built++
    return timedOut()
  }
  t.equal(await raceDeadline(Promise.resolve('token'), 1000, reason), 'token')
  await t.rejects(raceDeadline(Promise.reject(new TypeError('bad')), 1000, reason), {
    name: 'TypeError',
    message: 'bad',
  })
  // A non-Error rejection is passed on as it is: the caller describes it.
  const plain: unknown = await raceDeadline(
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    Promise.reject('a string'),
    1000,
    reason,
  ).catch((error: unknown) => error)
  t.equal(plain, 'a string')
  t.equal(built, 0)
})

t.test('work that never answers: the deadline error, not before the deadline', async (t) => {
  const started = performance.now()
  const error = new Error('deadline passed')
  await t.rejects(
    raceDeadline(never, 60, () => error),
    error,
  )
  t.ok(performance.now() - started >= 59, 'not rejected before its deadline')
})

t.test('a late answer is dropped, whichever way it comes', async (t) => {
  let answer!: (value: string) => void
  let fail!: (error: Error) => void
  const late = raceDeadline(new Promise<string>((resolve) => (answer = resolve)), 30, timedOut)
  const lateFailure = raceDeadline(
    new Promise<string>((_, reject) => (fail = reject)),
    30,
    timedOut,
  )
  await t.rejects(late, { message: 'deadline passed' })
  await t.rejects(lateFailure, { message: 'deadline passed' })
  answer('too late')
  fail(new Error('too late'))
  // Nothing is left to settle: a second settlement would have been an unhandled rejection or
  // a different outcome above.
  await new Promise((resolve) => setImmediate(resolve))
  t.pass('late answers ignored')
})

t.test('waits with different timeouts expire independently', async (t) => {
  const order: string[] = []
  let release!: (value: string) => void
  const long = raceDeadline(new Promise<string>((resolve) => (release = resolve)), 5000, timedOut)
  const short = raceDeadline(never, 40, () => new Error('short'))
  const second = raceDeadline(never, 40, () => new Error('second'))
  const results = Promise.allSettled([
    short.catch((e: Error) => order.push(e.message)),
    second.catch((e: Error) => order.push(e.message)),
  ])
  await results
  t.same(order, ['short', 'second'], 'oldest first within one timeout')
  release('still waited for')
  t.equal(await long, 'still waited for')
})

t.test('a wait that settles unlinks itself from the middle of its list', async (t) => {
  const resolvers: ((value: number) => void)[] = []
  const waits = [0, 1, 2, 3].map((i) =>
    raceDeadline(
      new Promise<number>((resolve) => (resolvers[i] = resolve)),
      80,
      () => new Error(`expired ${i}`),
    ),
  )
  resolvers[1]!(1)
  resolvers[3]!(3)
  t.equal(await waits[1], 1)
  t.equal(await waits[3], 3)
  await t.rejects(waits[0]!, { message: 'expired 0' })
  await t.rejects(waits[2]!, { message: 'expired 2' })
})

t.test('hostile thenables', async (t) => {
  // then() throws: the race rejects with what it threw.
  const throwing = {
    then: () => {
      throw new Error('then threw')
    },
  }
  await t.rejects(raceDeadline(throwing, 1000, timedOut), { message: 'then threw' })
  // then() calls back twice, both ways: the first call wins.
  const twice: PromiseLike<string> = {
    then(resolve, reject) {
      resolve?.('first')
      reject?.(new Error('second'))
      resolve?.('third')
      return never
    },
  }
  t.equal(await raceDeadline(twice, 1000, timedOut), 'first')
  // then() never calls back: the deadline.
  await t.rejects(raceDeadline({ then: () => never }, 30, timedOut), { message: 'deadline passed' })
})

t.test('a rejection handler that starts a new wait is not swept with the old one', async (t) => {
  const first = raceDeadline(never, 30, timedOut)
  const second = first.catch(() => raceDeadline(Promise.resolve('fresh'), 30, timedOut))
  t.equal(await second, 'fresh')
})

t.test('timerDelay: no longer than a Node.js timer holds', async (t) => {
  t.equal(MAX_TIMER_DELAY, 2 ** 31 - 1)
  t.equal(timerDelay(0), 0)
  t.equal(timerDelay(100), 100)
  t.equal(timerDelay(MAX_TIMER_DELAY), MAX_TIMER_DELAY)
  t.equal(timerDelay(MAX_TIMER_DELAY + 1), MAX_TIMER_DELAY)
  t.equal(timerDelay(30 * 24 * 3600 * 1000), MAX_TIMER_DELAY)
})
