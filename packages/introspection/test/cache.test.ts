import { isVerifierUnavailable } from '@bearerkit/core'
import nock from 'nock'
import t from 'tap'
import { createIntrospectionVerifier } from '../src/index.js'
import {
  NOW_S,
  activeAnswer,
  baseOptions,
  createClock,
  newToken,
  verify,
} from './fixtures/common.js'
import { useNock } from './fixtures/net.js'

const AS = 'https://as.example.com'
const PATH = '/oauth/introspect'

/** An endpoint that answers `answers` in order and counts what it was asked. */
function endpoint(...answers: Record<string, unknown>[]) {
  let count = 0
  const scope = nock(AS)
  for (const answer of answers) {
    scope.post(PATH).reply(() => {
      count++
      return [200, answer]
    })
  }
  return {
    scope,
    get count() {
      return count
    },
  }
}

t.test('an entry dies at the token exp even with a longer ttl', async (t) => {
  useNock(t)
  const clock = createClock()
  const upstream = endpoint(activeAnswer({ exp: NOW_S + 100 }), { active: false })
  const verifier = createIntrospectionVerifier(baseOptions({ now: clock, cache: { ttl: 3600 } }))
  const token = newToken()
  t.ok((await verify(verifier, token)).accessToken)
  clock.advance(99.999)
  t.ok((await verify(verifier, token)).accessToken, 'a millisecond before exp: a hit')
  t.equal(upstream.count, 1)
  clock.advance(0.001)
  // at exp the entry is dead: the server is asked again (and now says inactive)
  t.same(await verify(verifier, token), { accessToken: null, refusal: 'inactive' })
  t.equal(upstream.count, 2)
  t.ok(upstream.scope.isDone())
})

t.test('a hit never extends an entry', async (t) => {
  useNock(t)
  const clock = createClock()
  const upstream = endpoint(activeAnswer(), activeAnswer({ scope: 'second' }))
  const verifier = createIntrospectionVerifier(baseOptions({ now: clock, cache: { ttl: 60 } }))
  const token = newToken()
  t.same((await verifier.verifyToken(token))?.scopes, ['read', 'write'])
  for (const step of [10, 20, 29]) {
    clock.advance(step)
    t.same((await verifier.verifyToken(token))?.scopes, ['read', 'write'], 'hit')
  }
  t.equal(upstream.count, 1, 'three hits, one request')
  // 59 s have passed; one more second ends the entry whatever the hits
  clock.advance(1)
  t.same((await verifier.verifyToken(token))?.scopes, ['second'])
  t.equal(upstream.count, 2)
})

t.test('inactive answers are cached for negativeTtl only (default 5 s)', async (t) => {
  useNock(t)
  const clock = createClock()
  const upstream = endpoint({ active: false }, activeAnswer())
  const verifier = createIntrospectionVerifier(baseOptions({ now: clock }))
  const token = newToken()
  t.equal((await verify(verifier, token)).refusal, 'inactive')
  clock.advance(4.999)
  t.equal((await verify(verifier, token)).refusal, 'inactive', 'cached refusal')
  t.equal(upstream.count, 1)
  clock.advance(0.001)
  t.ok((await verify(verifier, token)).accessToken)
  t.equal(upstream.count, 2)
})

t.test(
  'negativeTtl 0 never caches an inactive answer; ttl 0 never caches an active one',
  async (t) => {
    useNock(t)
    const upstream = endpoint({ active: false }, { active: false }, activeAnswer(), activeAnswer())
    const verifier = createIntrospectionVerifier(baseOptions({ cache: { negativeTtl: 0, ttl: 0 } }))
    const token = newToken()
    t.equal((await verify(verifier, token)).refusal, 'inactive')
    t.equal((await verify(verifier, token)).refusal, 'inactive')
    t.ok((await verify(verifier, token)).accessToken)
    t.ok((await verify(verifier, token)).accessToken)
    t.equal(upstream.count, 4)
    t.equal(verifier.size, 0)
  },
)

t.test('refusals that depend on the answer (no client id) are cached as negative', async (t) => {
  useNock(t)
  const clock = createClock()
  const upstream = endpoint(activeAnswer({ client_id: undefined }))
  const verifier = createIntrospectionVerifier(
    baseOptions({ now: clock, cache: { negativeTtl: 10 } }),
  )
  const token = newToken()
  t.equal((await verify(verifier, token)).refusal, 'missing_claim')
  clock.advance(9)
  t.equal((await verify(verifier, token)).refusal, 'missing_claim')
  t.equal(upstream.count, 1)
})

t.test('a cached answer is checked again on every use (scopes, audience, type)', async (t) => {
  useNock(t)
  const clock = createClock()
  const upstream = endpoint(
    activeAnswer({ scope: 'read' }),
    activeAnswer({ aud: 'https://other.example' }),
    activeAnswer({ token_type: 'refresh_token' }),
  )
  const verifier = createIntrospectionVerifier(
    baseOptions({ now: clock, requiredScopes: ['write'] }),
  )
  const lacksScope = newToken()
  const otherAudience = newToken()
  const refresh = newToken()
  for (let i = 0; i < 3; i++) {
    t.equal((await verify(verifier, lacksScope)).refusal, 'insufficient_scope')
    t.equal((await verify(verifier, otherAudience)).refusal, 'wrong_audience')
    t.equal((await verify(verifier, refresh)).refusal, 'not_access_token')
    clock.advance(10)
  }
  t.equal(upstream.count, 3, 'answers were reused, decisions were not')
  t.equal(verifier.size, 3)
})

t.test('an answer that is already expired is refused and not cached', async (t) => {
  useNock(t)
  const upstream = endpoint(activeAnswer({ exp: NOW_S - 10 }), activeAnswer({ exp: NOW_S - 10 }))
  const verifier = createIntrospectionVerifier(baseOptions())
  const token = newToken()
  t.equal((await verify(verifier, token)).refusal, 'expired')
  t.equal(verifier.size, 0)
  t.equal((await verify(verifier, token)).refusal, 'expired')
  t.equal(upstream.count, 2)
})

t.test('an answer without exp lives ttl seconds', async (t) => {
  useNock(t)
  const clock = createClock()
  const upstream = endpoint(activeAnswer({ exp: undefined }), activeAnswer({ exp: undefined }))
  const verifier = createIntrospectionVerifier(baseOptions({ now: clock, cache: { ttl: 30 } }))
  const token = newToken()
  await verifier.verifyToken(token)
  clock.advance(29)
  await verifier.verifyToken(token)
  t.equal(upstream.count, 1)
  clock.advance(1)
  await verifier.verifyToken(token)
  t.equal(upstream.count, 2)
})

t.test('the cache is bounded by max (least recently used goes first)', async (t) => {
  useNock(t)
  const upstream = endpoint(activeAnswer(), activeAnswer(), activeAnswer(), activeAnswer())
  const verifier = createIntrospectionVerifier(baseOptions({ cache: { max: 2 } }))
  const [a, b, c] = [newToken(), newToken(), newToken()] as const
  await verifier.verifyToken(a)
  await verifier.verifyToken(b)
  await verifier.verifyToken(a)
  await verifier.verifyToken(c)
  t.equal(verifier.size, 2)
  t.equal(upstream.count, 3)
  await verifier.verifyToken(a)
  t.equal(upstream.count, 3, 'a was used recently and stayed')
  await verifier.verifyToken(b)
  t.equal(upstream.count, 4, 'b was evicted')
})

t.test('cache: false asks every time', async (t) => {
  useNock(t)
  const upstream = endpoint(activeAnswer(), activeAnswer(), { active: false })
  const verifier = createIntrospectionVerifier(baseOptions({ cache: false }))
  const token = newToken()
  t.ok(await verifier.verifyToken(token))
  t.ok(await verifier.verifyToken(token))
  t.equal(await verifier.verifyToken(token), null)
  t.equal(upstream.count, 3)
  t.equal(verifier.size, 0)
  verifier.clear()
})

t.test(
  'clear() drops every entry, and an introspection started before it is not stored',
  async (t) => {
    useNock(t)
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let count = 0
    nock(AS)
      .post(PATH)
      .times(3)
      .reply(async () => {
        count++
        if (count === 2) await gate
        return [200, activeAnswer()]
      })
    const verifier = createIntrospectionVerifier(baseOptions())
    const token = newToken()
    await verifier.verifyToken(token)
    t.equal(verifier.size, 1)
    verifier.clear()
    t.equal(verifier.size, 0)
    const slow = verifier.verifyToken(token)
    await new Promise((resolve) => setImmediate(resolve))
    verifier.clear()
    release()
    t.ok(await slow, 'the caller still gets its answer')
    t.equal(verifier.size, 0, 'but it was not cached')
    await verifier.verifyToken(token)
    t.equal(count, 3)
    t.equal(verifier.size, 1)
  },
)

t.test('close() aborts work in flight and refuses later calls as unavailable', async (t) => {
  useNock(t)
  nock(AS).post(PATH).delay(2000).reply(200, activeAnswer())
  const verifier = createIntrospectionVerifier(baseOptions())
  const pending = verifier.verifyToken(newToken())
  await new Promise((resolve) => setImmediate(resolve))
  await verifier.close()
  const error = await pending.catch((e: unknown) => e)
  t.ok(isVerifierUnavailable(error))
  t.match(error, { reason: 'closed', retryAfter: 5 })
  t.match(await verifier.verifyToken(newToken()).catch((e: unknown) => e), { reason: 'closed' })
  t.match(await verifier.ready().catch((e: unknown) => e), { reason: 'closed' })
  await verifier.close()
  t.equal(verifier.size, 0)
})

t.test('close() interrupts the pause between retries', async (t) => {
  let attempts = 0
  let answered: () => void = () => undefined
  const firstAnswer = new Promise<void>((resolve) => {
    answered = resolve
  })
  const verifier = createIntrospectionVerifier(
    baseOptions({
      retries: 5,
      // an in-memory 503 whose body is read at once; the verifier then pauses 50-100 ms
      fetch: async () => {
        attempts++
        answered()
        return new Response('down', { status: 503 })
      },
    }),
  )
  const pending = verifier.verifyToken(newToken())
  await firstAnswer
  await new Promise((resolve) => setTimeout(resolve, 20))
  await verifier.close()
  t.match(await pending.catch((e: unknown) => e), { reason: 'closed' })
  t.ok(attempts >= 1)
})
