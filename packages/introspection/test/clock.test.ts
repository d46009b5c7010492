import nock from 'nock'
import t from 'tap'
import { createIntrospectionVerifier } from '../src/index.js'
import { NOW, NOW_S, activeAnswer, baseOptions, newToken } from './fixtures/common.js'
import { useNock } from './fixtures/net.js'

const AS = 'https://as.example.com'
const PATH = '/oauth/introspect'

// A clock is user code: one that answers no number would pass the exp and nbf checks.
t.test('a clock that gives no number is a 503, never an acceptance', async (t) => {
  useNock(t)
  const stale = activeAnswer({ exp: NOW_S - 3600 })
  const early = activeAnswer({ nbf: NOW_S + 3600 })
  for (const answer of [stale, early]) {
    const scope = nock(AS).post(PATH).reply(200, answer)
    const verifier = createIntrospectionVerifier(baseOptions({ now: () => NaN, cache: false }))
    await t.rejects(verifier.verifyToken(newToken()), {
      name: 'VerifierUnavailableError',
      reason: 'clock_error',
    })
    t.ok(scope.isDone())
  }
})

t.test('a cached answer is not served once the clock gives no number', async (t) => {
  useNock(t)
  let now: number = NOW
  const scope = nock(AS).post(PATH).reply(200, activeAnswer())
  const verifier = createIntrospectionVerifier(baseOptions({ now: () => now }))
  const token = newToken()
  t.ok(await verifier.verifyToken(token), 'accepted and cached')
  t.equal(verifier.size, 1)
  now = undefined as unknown as number
  await t.rejects(verifier.verifyToken(token), {
    name: 'VerifierUnavailableError',
    reason: 'clock_error',
  })
  t.ok(scope.isDone())
})
