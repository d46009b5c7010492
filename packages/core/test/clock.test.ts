// readClock: a reading for a time check, or a 503 when the clock gives no finite number.
import t from 'tap'
import { readClock } from '../src/index.js'

t.test('readClock passes a finite reading through', async (t) => {
  t.equal(
    readClock(() => 1_800_000_000_000, 'the token'),
    1_800_000_000_000,
  )
  t.equal(
    readClock(() => 0, 'the token'),
    0,
  )
})

t.test('readClock refuses a reading that no comparison could judge', async (t) => {
  for (const reading of [NaN, Infinity, -Infinity, undefined, '1800000000000', null]) {
    t.throws(() => readClock(() => reading as number, 'the token'), {
      name: 'VerifierUnavailableError',
      code: 'ERR_VERIFIER_UNAVAILABLE',
      statusCode: 503,
      reason: 'clock_error',
      message: 'The clock gave no time to check the token with',
      retryAfter: undefined,
    })
  }
  t.throws(() => readClock(() => NaN, 'the token', 5), {
    name: 'VerifierUnavailableError',
    reason: 'clock_error',
    retryAfter: 5,
  })
})
