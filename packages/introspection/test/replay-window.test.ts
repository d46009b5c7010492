import { generateKeyPairSync } from 'node:crypto'
import { createMemoryReplayStore, type ReplayStore } from '@bearerkit/core'
import { SignJWT } from 'jose'
import nock from 'nock'
import t from 'tap'
import { createIntrospectionVerifier } from '../src/index.js'
import {
  ISSUER,
  NOW_S,
  activeAnswer,
  baseOptions,
  createClock,
  newToken,
} from './fixtures/common.js'
import { useNock } from './fixtures/net.js'

// Red-team finding "A signed introspection answer can be replayed in its last second": jose floors
// the clock to whole seconds and accepts the response until (iat + maxAge + tolerance + 1) * 1000
// ms, but the replay entry expired at (iat + maxAge + tolerance) * 1000: during that last second a
// captured response was accepted again, for any token.

const AS = 'https://as.example.com'
const PATH = '/oauth/introspect'
const JWT_TYPE = { 'content-type': 'application/token-introspection+jwt' }
const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const MAX_AGE = 300
const TOLERANCE = 5

async function captured(iat: number): Promise<string> {
  return new SignJWT({ token_introspection: activeAnswer() })
    .setProtectedHeader({ alg: 'ES256', typ: 'token-introspection+jwt' })
    .setIssuer(ISSUER)
    .setAudience('resource-server')
    .setIssuedAt(iat)
    .setJti('response-1')
    .sign(signer.privateKey)
}

async function outcome(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    (value) => (value === null ? 'refused' : 'accepted'),
    (error: unknown) => `unavailable ${String((error as { reason?: unknown }).reason)}`,
  )
}

t.test('A signed introspection answer can be replayed in its last second', async (t) => {
  useNock(t)
  const iat = NOW_S
  const body = await captured(iat)
  // The hostile network answers every introspection with the one captured response.
  nock(AS).post(PATH).times(6).reply(200, body, JWT_TYPE)
  const clock = createClock((iat + 10) * 1000)
  const verifier = createIntrospectionVerifier(
    baseOptions({
      now: clock,
      cache: false,
      jwtResponse: { key: signer.publicKey, maxAge: MAX_AGE, clockTolerance: TOLERANCE },
    }),
  )
  t.equal(await outcome(verifier.verifyToken(newToken())), 'accepted', 'first use')
  const edge = (iat + MAX_AGE + TOLERANCE) * 1000
  for (const [offset, expected] of [
    [-1, 'unavailable replayed'],
    [0, 'unavailable replayed'],
    [300, 'unavailable replayed'],
    [999, 'unavailable replayed'],
    // From here jose refuses the response as too old: the entry may go.
    [1000, 'unavailable invalid_response'],
  ] as const) {
    clock.set(edge + offset)
    t.equal(await outcome(verifier.verifyToken(newToken())), expected, `edge ${offset} ms`)
  }
})

t.test('the replay entry lasts to the end of the last accepted second', async (t) => {
  useNock(t)
  const kept: number[] = []
  const memory = createMemoryReplayStore({ now: () => (NOW_S + 1) * 1000 })
  const spy: ReplayStore = {
    markUsed: (key, expiresAt, options) => {
      kept.push(expiresAt)
      return memory.markUsed(key, expiresAt, options)
    },
  }
  // A fractional iat (RFC 7519 §2 NumericDate allows it) and fractional durations.
  const iat = NOW_S + 0.75
  nock(AS)
    .post(PATH)
    .reply(200, await captured(iat), JWT_TYPE)
  const verifier = createIntrospectionVerifier(
    baseOptions({
      now: createClock((NOW_S + 1) * 1000),
      cache: false,
      jwtResponse: { key: signer.publicKey, maxAge: 10.5, clockTolerance: 0, replayStore: spy },
    }),
  )
  t.equal(await outcome(verifier.verifyToken(newToken())), 'accepted')
  // jose accepts while floor(now) <= iat + 10.5 = NOW_S + 11.25, so until NOW_S + 12 exclusive.
  t.same(kept, [NOW_S + 12])
})
