import t from 'tap'
import { createCachedVerifier } from '@bearerkit/core'
import { createJwtVerifier } from '../src/index.js'
import { AUDIENCE, ISSUER, NOW, NOW_S, mint, pair } from './fixtures/keys.js'
import { outcome } from './fixtures/outcome.js'

t.test('Cache hits keep only exp: a cached jwt verifier keeps maxTokenAge on hits', async (t) => {
  const rsa = await pair('RS256')
  let now = NOW
  let calls = 0
  const inner = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    key: rsa.pem,
    maxTokenAge: 60,
    clockTolerance: 0,
    now: () => now,
  })
  const counting = {
    verifyToken: (token: string, options?: Parameters<typeof inner.verifyToken>[1]) => {
      calls++
      return inner.verifyToken(token, options)
    },
  }
  const cached = createCachedVerifier(counting, { ttl: 300, now: () => now })
  const token = await mint(rsa, { claims: { iat: NOW_S, exp: NOW_S + 3600 } })

  t.equal(await outcome(cached, token), 'accepted')
  now = NOW + 59_000
  t.equal(await outcome(cached, token), 'accepted')
  t.equal(calls, 1, 'a hit inside iat + maxTokenAge is served from the cache')
  // The review's case: 250 s after iat, inside the cache ttl, past maxTokenAge.
  now = NOW + 250_000
  t.equal(await outcome(cached, token), 'too_old')
  t.equal(calls, 2, 'the inner verifier decided again')
  // The exact edge: iat + maxTokenAge is still accepted by the verifier itself.
  now = NOW
  const fresh = await mint(rsa, { claims: { iat: NOW_S, exp: NOW_S + 3600, jti: 'b' } })
  t.equal(await outcome(cached, fresh), 'accepted')
  now = NOW + 60_000
  t.equal(await outcome(cached, fresh), 'accepted')
  now = NOW + 61_000
  t.equal(await outcome(cached, fresh), 'too_old')
})

t.test('no age bound is reported without maxTokenAge', async (t) => {
  const rsa = await pair('RS256')
  const reports: unknown[] = []
  const verifier = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    key: rsa.pem,
    now: () => NOW,
  })
  const token = await mint(rsa, { claims: { iat: NOW_S } })
  t.ok(await verifier.verifyToken(token, { onValidity: (v) => reports.push(v) }))
  t.same(reports, [])
  const aged = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    key: rsa.pem,
    maxTokenAge: 100,
    clockTolerance: 5,
    now: () => NOW,
  })
  t.ok(await aged.verifyToken(token, { onValidity: (v) => reports.push(v) }))
  t.same(reports, [{ validUntil: NOW_S + 105 }])
})
