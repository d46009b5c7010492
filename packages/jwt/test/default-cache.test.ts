import { createVerifier } from '@bearerkit/core'
import t from 'tap'
import { DEFAULT_CLOCK_TOLERANCE } from '../src/index.js'
import { AUDIENCE, ISSUER, NOW, NOW_S, mint, pair } from './fixtures/keys.js'
import { outcome } from './fixtures/outcome.js'

const load = () => import('../src/index.js')

// createVerifier({ type: 'jwt' }) puts a verified-token cache in front by default. A hit must be
// served exactly when the verifier itself would accept: same clock, same leeway on exp.
t.test('the default cache of createVerifier keeps the jwt leeway on exp, no more', async (t) => {
  const es = await pair('ES256')
  let clock = NOW
  let checks = 0
  const verifier = await createVerifier(
    {
      type: 'jwt',
      issuer: ISSUER,
      audience: AUDIENCE,
      key: es.jwk,
      algorithms: ['ES256'],
      now: () => clock,
      // Counts the verifications that reach the verifier (a cache hit does not).
      validate: () => {
        checks++
        return true
      },
    },
    { load },
  )
  const token = await mint(es, { claims: { iat: NOW_S - 60, exp: NOW_S + 10 } })
  t.equal(await outcome(verifier, token), 'accepted')
  t.equal(await outcome(verifier, token), 'accepted')
  t.equal(checks, 1, 'the second verification is a cache hit')
  // 1 ms before the end of the leeway: the verifier would still accept, so the hit may.
  clock = (NOW_S + 10 + DEFAULT_CLOCK_TOLERANCE) * 1000 - 1
  t.equal(await outcome(verifier, token), 'accepted')
  t.equal(checks, 1, 'still a hit inside the leeway')
  clock += 1
  t.equal(await outcome(verifier, token), 'expired', 'refused once exp + leeway is reached')
  t.equal(checks, 1, 'the verifier refused it before validate')

  // A token past exp but inside the leeway is accepted as the uncached verifier accepts it.
  clock = NOW
  const late = await mint(es, { claims: { iat: NOW_S - 60, exp: NOW_S - 20 } })
  t.equal(await outcome(verifier, late), 'accepted')
  t.equal(await outcome(verifier, late), 'accepted')
})

t.test('cache: false verifies every time', async (t) => {
  const es = await pair('ES256')
  let checks = 0
  const verifier = await createVerifier(
    {
      type: 'jwt',
      issuer: ISSUER,
      audience: AUDIENCE,
      key: es.jwk,
      algorithms: ['ES256'],
      now: () => NOW,
      cache: false,
      validate: () => {
        checks++
        return true
      },
    },
    { load },
  )
  const token = await mint(es)
  t.equal(await outcome(verifier, token), 'accepted')
  t.equal(await outcome(verifier, token), 'accepted')
  t.equal(checks, 2)
})
