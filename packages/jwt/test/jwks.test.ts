import { randomBytes } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t, { type Test } from 'tap'
import { Refusal } from '@bearerkit/core'
import {
  createJwsVerifier,
  createJwtVerifier,
  createKeyResolver,
  type JwksEvent,
  type JwtVerifierOptions,
  type KeyResolver,
} from '../src/index.js'
import { collect } from './fixtures/events.js'
import { startServer, type TestServer } from './fixtures/jwks-server.js'
import { AUDIENCE, ISSUER, NOW, NOW_S, mint, pair, rawToken } from './fixtures/keys.js'
import { outcome } from './fixtures/outcome.js'

interface Setup {
  server: TestServer
  clock: { now: number }
  make: (options?: Partial<JwtVerifierOptions>) => ReturnType<typeof createJwtVerifier>
}

async function setup(t: Test, keys: unknown[]): Promise<Setup> {
  const server = await startServer()
  t.teardown(() => server.close())
  server.json('/jwks', { keys })
  const clock = { now: NOW }
  return {
    server,
    clock,
    make: (options = {}) => {
      const verifier = createJwtVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUri: `${server.origin}/jwks`,
        now: () => clock.now,
        ...options,
      })
      t.teardown(() => verifier.close())
      return verifier
    },
  }
}

t.test('100 parallel verifications on a cold cache make exactly one JWKS request', async (t) => {
  const rsa = await pair('RS256')
  const es = await pair('ES256')
  const { server, make } = await setup(t, [rsa.jwk, es.jwk])
  const verifier = make()
  const tokens = await Promise.all(Array.from({ length: 100 }, (_, i) => mint(i % 2 ? rsa : es)))
  const results = await Promise.all(tokens.map((token) => outcome(verifier, token)))
  t.same(new Set(results), new Set(['accepted']))
  t.equal(server.count('/jwks'), 1)
  // Cached now: no more requests.
  t.equal(await outcome(verifier, tokens[0] as string), 'accepted')
  t.equal(server.count('/jwks'), 1)
})

t.test(
  '10,000 random-kid tokens: one refetch per cooldown, good tokens keep verifying',
  async (t) => {
    const rsa = await pair('RS256')
    const { server, clock, make } = await setup(t, [rsa.jwk])
    const verifier = make({ jwks: { cooldown: 5, maxAge: 3600 } })
    const good = await mint(rsa, { claims: { exp: NOW_S + 3600 } })
    t.equal(await outcome(verifier, good), 'accepted')
    const codes = new Map<string, number>()
    const round = async () => {
      const batch = Array.from({ length: 500 }, () =>
        outcome(
          verifier,
          rawToken(
            {
              alg: 'RS256',
              typ: 'at+jwt',
              kid: randomBytes(24).toString('base64url'),
            },
            undefined,
            'A'.repeat(342),
          ),
        ),
      )
      batch.push(outcome(verifier, good).then((code) => `good ${code}`))
      for (const code of await Promise.all(batch)) codes.set(code, (codes.get(code) ?? 0) + 1)
      clock.now += 1000
    }
    const requestsBefore = server.count('/jwks')
    // 20 rounds of 500 random-kid tokens, the clock moving 1 s per round: 20 s, cooldown 5 s.
    for (let i = 0; i < 20; i++) await round()
    t.same(Object.fromEntries(codes), { unknown_key: 10_000, 'good accepted': 20 })
    const refetches = server.count('/jwks') - requestsBefore
    t.ok(refetches <= 4, `at most one refetch per 5 s over 20 s: ${refetches}`)
    t.ok(refetches >= 3, 'unknown kids do cause a refetch once the cooldown is over')
  },
)

t.test(
  'key rotation: a new kid is picked up, a removed key stops working after the max age',
  async (t) => {
    const old = await pair('ES256', 'old')
    const next = await pair('ES256', 'next')
    const { server, clock, make } = await setup(t, [old.jwk])
    const verifier = make({ jwks: { maxAge: 600, cooldown: 30 } })
    const oldToken = await mint(old)
    t.equal(await outcome(verifier, oldToken), 'accepted')
    server.json('/jwks', { keys: [old.jwk, next.jwk] })
    // Inside the cooldown after the first fetch, an unknown kid does not refetch.
    t.equal(await outcome(verifier, await mint(next)), 'unknown_key')
    t.equal(server.count('/jwks'), 1)
    clock.now += 30_000
    t.equal(await outcome(verifier, await mint(next)), 'accepted', 'new kid picked up')
    t.equal(server.count('/jwks'), 2)
    server.json('/jwks', { keys: [next.jwk] })
    clock.now += 599_000
    t.equal(await outcome(verifier, oldToken), 'accepted', 'still cached before the max age')
    t.equal(server.count('/jwks'), 2)
    clock.now += 1000
    t.equal(
      await outcome(verifier, oldToken),
      'unknown_key',
      'removed key refused after the max age',
    )
    t.equal(server.count('/jwks'), 3)
    t.equal(
      await outcome(verifier, await mint(next, { claims: { exp: NOW_S + 3600 } })),
      'accepted',
    )
  },
)

t.test(
  'stale-if-error: the last good set is served for a bounded time, with an event',
  async (t) => {
    const rsa = await pair('RS256')
    const { server, clock, make } = await setup(t, [rsa.jwk])
    const verifier = make({ jwks: { maxAge: 60, staleIfError: 120, backoff: 1, maxBackoff: 10 } })
    const token = await mint(rsa)
    t.equal(await outcome(verifier, token), 'accepted')
    server.json('/jwks', { error: 'down' }, 503)
    const events = collect()
    t.teardown(events.stop)
    clock.now += 61_000
    t.equal(await outcome(verifier, token), 'accepted', 'served stale')
    const types = events.events.map((e) => e.type)
    t.same(types, ['fetch_failed', 'stale'])
    const [failed, stale] = events.events as [JwksEvent, JwksEvent]
    t.match(failed, {
      jwksUri: `${server.origin}/jwks`,
      trigger: 'max_age',
      reason: 'status',
      retryAfter: 1,
    })
    t.match(stale, { age: 61, jwksUri: `${server.origin}/jwks` })
    t.notMatch(JSON.stringify(events.events), token.split('.')[1] ?? 'unreachable')
    // An unknown kid while the endpoint is failing cannot be decided: unavailable, not a refusal.
    await t.rejects(verifier.verifyToken(await mint(rsa, { header: { kid: 'new' } })), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'status',
    })
    // Past max age + staleIfError, the stale set is no longer used.
    clock.now += 120_000
    const error = await verifier.verifyToken(token).then(
      () => null,
      (e: unknown) => e,
    )
    t.match(error, { code: 'ERR_VERIFIER_UNAVAILABLE', statusCode: 503, reason: 'status' })
    t.ok((error as { retryAfter: number }).retryAfter >= 1)
    t.match((error as { headers: Record<string, string> }).headers, { 'retry-after': /^\d+$/ })
    // The endpoint comes back: verification resumes once the backoff allows a new attempt.
    server.json('/jwks', { keys: [rsa.jwk] })
    clock.now += 10_000
    t.equal(await outcome(verifier, token), 'accepted')
  },
)

t.test('backoff after failures, cooldown after success, upstream Retry-After', async (t) => {
  const rsa = await pair('RS256')
  const { server, clock, make } = await setup(t, [rsa.jwk])
  server.json('/jwks', 'nope', 500)
  const verifier = make({ jwks: { backoff: 2, maxBackoff: 8 } })
  const token = await mint(rsa)
  const fail = async (retryAfter: number) =>
    t.rejects(verifier.verifyToken(token), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'status',
      retryAfter,
    })
  await fail(2)
  t.equal(server.count('/jwks'), 1)
  await fail(2)
  clock.now += 1000
  await fail(1)
  t.equal(server.count('/jwks'), 1, 'no request while backing off')
  clock.now += 1000
  await fail(4)
  t.equal(server.count('/jwks'), 2)
  clock.now += 4000
  await fail(8)
  clock.now += 8000
  await fail(8)
  t.equal(server.count('/jwks'), 4, 'doubling up to maxBackoff')
  // An upstream Retry-After longer than the backoff is honoured, within maxBackoff.
  server.route('/jwks', (_request, response) => {
    response.writeHead(503, { 'retry-after': '5', 'content-type': 'application/json' }).end('{}')
  })
  const slow = make({ jwks: { backoff: 1, maxBackoff: 30 } })
  await t.rejects(slow.verifyToken(token), { code: 'ERR_VERIFIER_UNAVAILABLE', retryAfter: 5 })
  server.json('/jwks', { keys: [rsa.jwk] })
  clock.now += 8000
  t.equal(await outcome(verifier, token), 'accepted')
  const requests = server.count('/jwks')
  // After a success, unknown kids refetch at most once per cooldown.
  for (let i = 0; i < 5; i++)
    t.equal(await outcome(verifier, await mint(rsa, { header: { kid: `x${i}` } })), 'unknown_key')
  t.equal(server.count('/jwks'), requests)
  clock.now += 30_000
  t.equal(await outcome(verifier, await mint(rsa, { header: { kid: 'y' } })), 'unknown_key')
  t.equal(server.count('/jwks'), requests + 1)
})

t.test('JWK use, key_ops and alg are respected; oct keys in a JWKS are never used', async (t) => {
  const rsa = await pair('RS256')
  const enc = await pair('RS256', 'enc')
  const ops = await pair('ES256', 'ops')
  const secret = 'a'.repeat(64)
  const events = collect()
  t.teardown(events.stop)
  const { make } = await setup(t, [
    rsa.jwk,
    { ...enc.jwk, use: 'enc' },
    { ...ops.jwk, use: undefined, key_ops: ['encrypt'] },
    { kty: 'oct', k: Buffer.from(secret).toString('base64url'), kid: 'oct-1' },
    { kty: 'OKP', crv: 'X25519', x: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', kid: 'x' },
    { ...(await pair('RSA1024')).jwk, kid: 'weak', alg: undefined },
    { ...rsa.jwk, kid: 'mismatch', alg: 'ES256' },
    'not a key',
  ])
  const verifier = make()
  t.equal(await outcome(verifier, await mint(rsa)), 'accepted')
  t.equal(await outcome(verifier, await mint(enc)), 'unknown_key', 'use enc')
  t.equal(await outcome(verifier, await mint(ops)), 'unknown_key', 'key_ops without verify')
  t.equal(
    await outcome(verifier, await mint(rsa, { alg: 'PS256' })),
    'algorithm_not_allowed',
    'header alg differs from the JWK alg',
  )
  t.equal(await outcome(verifier, await mint(rsa, { alg: 'RS384' })), 'algorithm_not_allowed')
  const { mintHmac } = await import('./fixtures/keys.js')
  t.equal(
    await outcome(verifier, await mintHmac(secret, 'HS256', { kid: 'oct-1' })),
    'algorithm_not_allowed',
    'HS256 against a JWKS oct key',
  )
  t.same(
    events.events.filter((e) => e.type === 'key_skipped').map((e) => [e.kid, e.reason]),
    [
      [enc.kid, 'use'],
      [ops.kid, 'key_ops'],
      ['oct-1', 'symmetric'],
      ['x', 'unsupported_key'],
      ['weak', 'weak_key'],
      ['mismatch', 'alg_mismatch'],
      [undefined, 'not_an_object'],
    ],
  )
  t.throws(() => make({ algorithms: ['RS256', 'HS256'] }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message:
      /options\.algorithms contains HS256: HS\* needs a shared secret \(secret\); a JWKS never supplies one/,
  })
})

t.test('a hanging JWKS endpoint times out in bounded time', async (t) => {
  const rsa = await pair('RS256')
  const { server, make } = await setup(t, [])
  server.route('/jwks', () => undefined)
  const verifier = make({ jwks: { timeout: 100 } })
  const started = Date.now()
  await t.rejects(verifier.verifyToken(await mint(rsa)), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'timeout',
    retryAfter: 1,
  })
  t.ok(Date.now() - started < 5000)
})

t.test('a hanging endpoint does not stop a cached key from working', async (t) => {
  const rsa = await pair('RS256')
  const { server, clock, make } = await setup(t, [rsa.jwk])
  const verifier = make({ jwks: { timeout: 100, maxAge: 60 } })
  const token = await mint(rsa)
  t.equal(await outcome(verifier, token), 'accepted')
  server.route('/jwks', () => undefined)
  clock.now += 61_000
  t.equal(await outcome(verifier, token), 'accepted', 'stale set used after the timeout')
  t.equal(server.count('/jwks'), 2)
})

t.test('ready(), close() and abort signals', async (t) => {
  const rsa = await pair('RS256')
  const { server, clock, make } = await setup(t, [rsa.jwk])
  const verifier = make()
  await verifier.ready()
  t.equal(server.count('/jwks'), 1)
  await verifier.ready()
  t.equal(server.count('/jwks'), 1, 'fresh set: no request')
  clock.now += 600_000
  await verifier.ready()
  t.equal(server.count('/jwks'), 2, 'stale set: refreshed')
  verifier.close()
  verifier.close()
  await t.rejects(verifier.verifyToken(await mint(rsa)), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'closed',
  })
  await t.rejects(verifier.ready(), { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'closed' })

  // A failing ready() rejects with the reason.
  server.json('/broken', 'x', 500)
  const broken = make({ jwksUri: `${server.origin}/broken` })
  await t.rejects(broken.ready(), { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'status' })

  // Closing during a fetch aborts it; waiting callers reject as closed.
  let release: () => void = () => undefined
  server.route('/slow', (_request, response) => {
    release = () =>
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: [rsa.jwk] }))
  })
  const slow = make({ jwksUri: `${server.origin}/slow` })
  const pending = slow.verifyToken(await mint(rsa))
  const readying = slow.ready()
  while (server.count('/slow') === 0) await new Promise((resolve) => setImmediate(resolve))
  slow.close()
  await t.rejects(pending, { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'closed' })
  await t.rejects(readying, { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'closed' })
  release()

  // One caller giving up does not cancel the shared fetch for the others.
  let finish: () => void = () => undefined
  server.route('/shared', (_request, response) => {
    finish = () =>
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: [rsa.jwk] }))
  })
  const shared = make({ jwksUri: `${server.origin}/shared` })
  const controller = new AbortController()
  const token = await mint(rsa)
  const impatient = shared.verifyToken(token, { signal: controller.signal })
  const patient = shared.verifyToken(token)
  while (server.count('/shared') === 0) await new Promise((resolve) => setImmediate(resolve))
  controller.abort(new Error('client went away'))
  await t.rejects(impatient, { message: 'client went away' })
  finish()
  t.ok(await patient)
  t.equal(server.count('/shared'), 1)
})

t.test('nothing derived from an unknown-kid token is kept: memory stays bounded', async (t) => {
  const rsa = await pair('RS256')
  const { server } = await setup(t, [rsa.jwk])
  const keys = createKeyResolver({
    jwksUri: `${server.origin}/jwks`,
    now: () => NOW,
    jwks: { cooldown: 3600 },
  })
  t.teardown(() => keys.close())
  // The resolver sees every parsed header and payload; weak references tell which stay alive.
  const seen: Array<WeakRef<object>> = []
  const watching: KeyResolver = {
    resolve: (header, payload, signal) => {
      seen.push(new WeakRef(header), new WeakRef(payload))
      return keys.resolve(header, payload, signal)
    },
    ready: () => keys.ready(),
    close: () => keys.close(),
  }
  const verifier = createJwsVerifier({ keys: watching, types: ['at+jwt'] })
  for (let round = 0; round < 20; round++) {
    const results = await Promise.all(
      Array.from({ length: 500 }, () =>
        verifier.verify(
          rawToken(
            { alg: 'RS256', typ: 'at+jwt', kid: randomBytes(24).toString('base64url') },
            undefined,
            'A'.repeat(342),
          ),
        ),
      ),
    )
    t.equal(results.filter((r) => r instanceof Refusal && r.code === 'unknown_key').length, 500)
  }
  t.equal(seen.length, 20_000)
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  await new Promise((resolve) => setImmediate(resolve))
  gc()
  const alive = seen.filter((ref) => ref.deref() !== undefined).length
  // Only the bounded header cache (32 entries) may still hold parsed headers.
  t.ok(alive <= 32, `objects still alive: ${alive} of 20000`)
  t.equal(server.count('/jwks'), 1, 'one fetch, then the cooldown holds')
})

t.test('a verification waiting for the JWKS is not disturbed by others meanwhile', async (t) => {
  // Tokens are decoded in scratch space shared by every verifier of the process; a verification
  // that waits for keys must read its own token again, not what others left there.
  const rsa = await pair('RS256')
  const other = await pair('ES256', 'b')
  const { server, make } = await setup(t, [rsa.jwk])
  let release: () => void = () => undefined
  const held = new Promise<void>((resolve) => (release = resolve))
  server.route('/jwks', (_request, response) => {
    void held.then(() => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ keys: [rsa.jwk] }))
    })
  })
  const waiting = make()
  const good = await mint(rsa)
  const [h, p, s] = good.split('.') as [string, string, string]
  // Same signature over other claims: must fail the signature check after the wait.
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'admin' })).toString('base64url')}.${s}`
  const pendingGood = outcome(waiting, good)
  const pendingForged = outcome(waiting, forged)
  // Meanwhile, a verifier with a static key verifies longer and shorter tokens synchronously.
  const busy = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    key: other.pem,
    now: () => NOW,
  })
  const long = await mint(other, { claims: { pad: 'x'.repeat(3000) } })
  t.equal(await outcome(busy, long), 'accepted')
  t.equal(await outcome(busy, await mint(other)), 'accepted')
  t.not(await outcome(busy, good), 'accepted')
  await new Promise((resolve) => setTimeout(resolve, 20))
  release()
  t.equal(await pendingGood, 'accepted')
  t.equal(await pendingForged, 'bad_signature')
  t.equal(server.count('/jwks'), 1)
})
