// verifierTimeout: a verifier that never answers, or answers too late, is a 503
// verifier_timeout, never an acceptance; the option is checked up front.
import diagnostics from 'node:diagnostics_channel'
import { defineVerifier, type AccessToken, type TokenVerifier } from '@bearerkit/core'
import Fastify from 'fastify'
import t from 'tap'
import { bearerAuth } from '../../fastify/src/index.js'
import { HTTP_CHANNEL, createBearerGate, type GateEvent } from '../src/index.js'
import { accessToken } from './fixtures/conformance.js'

// The deadline's sweep never keeps a process alive; a server would, this timer does here.
const alive = setInterval(() => {}, 1000)
t.teardown(() => clearInterval(alive))

const request = (token: string) => ({
  method: 'GET',
  url: '/mcp',
  headers: { authorization: `Bearer ${token}` },
})

t.test('a verifier that never answers: 503 verifier_timeout', async (t) => {
  const events: GateEvent[] = []
  const listener = (event: unknown): void => {
    events.push(event as GateEvent)
  }
  diagnostics.subscribe(HTTP_CHANNEL, listener)
  t.teardown(() => diagnostics.unsubscribe(HTTP_CHANNEL, listener))
  const hung: TokenVerifier = { verifyToken: () => new Promise<never>(() => {}) }
  const gate = createBearerGate({ verifier: hung, verifierTimeout: 50, retryAfter: 7 })
  const result = await gate.authenticate(request('hung-token'))
  t.equal(result.kind, 'refused')
  if (result.kind !== 'refused') return
  t.equal(result.response.status, 503)
  t.equal(result.response.headers['retry-after'], '7')
  t.equal(result.response.headers['www-authenticate'], undefined)
  t.same(JSON.parse(result.response.body ?? ''), {
    error: 'temporarily_unavailable',
    error_description: 'The token verifier is unavailable',
  })
  t.same(events, [
    { outcome: 'unavailable', status: 503, reason: 'verifier_unavailable:verifier_timeout' },
  ])
})

t.test('an acceptance that comes after the deadline is not an acceptance', async (t) => {
  let answer!: (token: AccessToken) => void
  const slow: TokenVerifier = {
    verifyToken: () => new Promise<AccessToken>((resolve) => (answer = resolve)),
  }
  const gate = createBearerGate({ verifier: slow, verifierTimeout: 40 })
  const result = await gate.authenticate(request('slow-token'))
  t.equal(result.kind, 'refused')
  answer(accessToken('slow-token'))
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(result.kind, 'refused', 'the decision stands')
})

t.test('a verifier that answers in time is unaffected, sync or async', async (t) => {
  const gate = createBearerGate({
    verifier: defineVerifier('quick', (token) => accessToken(token)),
    verifierTimeout: 40,
  })
  t.equal((await gate.authenticate(request('quick-token'))).kind, 'accepted')
  const sync = createBearerGate({
    verifier: { verifyToken: (token: string) => accessToken(token) as never },
    verifierTimeout: 40,
  })
  t.equal((await sync.authenticate(request('sync-token'))).kind, 'accepted')
})

t.test('verifierTimeout is checked up front', async (t) => {
  const verifier = defineVerifier('quick', (token) => accessToken(token))
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 600_001, '1000']) {
    t.throws(
      () => createBearerGate({ verifier, verifierTimeout: bad as never }),
      {
        code: 'ERR_INVALID_ARG_VALUE',
        message:
          /^options\.verifierTimeout must be a number of milliseconds > 0 and at most 600000/,
      },
      String(bad),
    )
  }
  t.doesNotThrow(() => createBearerGate({ verifier, verifierTimeout: 600_000 }))
  t.doesNotThrow(() => createBearerGate({ verifier, verifierTimeout: 0.5 }))
})

t.test('through the Fastify plugin: a hung custom verifier is a 503', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(bearerAuth, {
    verifier: { verifyToken: () => new Promise<never>(() => {}) },
    verifierTimeout: 50,
  })
  app.get('/mcp', async () => ({ reached: true }))
  const answer = await app.inject({ url: '/mcp', headers: { authorization: 'Bearer hung-token' } })
  t.equal(answer.statusCode, 503)
  t.notMatch(answer.body, 'reached')
})
