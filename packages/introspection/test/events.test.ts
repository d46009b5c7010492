import diagnostics from 'node:diagnostics_channel'
import { VERIFY_CHANNEL, type VerificationEvent } from '@bearerkit/core'
import nock from 'nock'
import t from 'tap'
import { createIntrospectionVerifier } from '../src/index.js'
import { activeAnswer, baseOptions, newToken } from './fixtures/common.js'
import { useNock } from './fixtures/net.js'

t.test('every decision is published as introspection, never with the token', async (t) => {
  useNock(t)
  const events: VerificationEvent[] = []
  const listener = (event: unknown) => events.push(event as VerificationEvent)
  diagnostics.subscribe(VERIFY_CHANNEL, listener)
  t.teardown(() => diagnostics.unsubscribe(VERIFY_CHANNEL, listener))
  nock('https://as.example.com')
    .post('/oauth/introspect')
    .reply(200, activeAnswer())
    .post('/oauth/introspect')
    .reply(200, { active: false })
    .post('/oauth/introspect')
    .reply(500)
  const verifier = createIntrospectionVerifier(baseOptions())
  const tokens = [newToken('accepted'), newToken('refused'), newToken('failed')] as const
  await verifier.verifyToken(tokens[0])
  await verifier.verifyToken(tokens[1])
  await verifier.verifyToken(tokens[2]).catch(() => undefined)
  t.match(events, [
    { verifier: 'introspection', outcome: 'accepted', clientId: 'mcp-client' },
    { verifier: 'introspection', outcome: 'refused', reason: 'inactive' },
    { verifier: 'introspection', outcome: 'unavailable', errorCode: 'ERR_VERIFIER_UNAVAILABLE' },
  ])
  const published = JSON.stringify(events)
  for (const token of tokens) t.notOk(published.includes(token), 'no token in any event')
})
