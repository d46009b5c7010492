import t from 'tap'
import * as core from '@bearerkit/core'
import {
  createIdentityAssertionVerifier,
  createMemoryReplayStore,
  type ReplayStore,
} from '../src/index.js'
import { AS_ISSUER, CLIENT_ID, IDP, RESOURCE, createIdp, mintAssertion } from './fixtures/idp.js'

const idp = await createIdp('core-store-key')

t.test('the replay store is core’s; the old exports are kept', async (t) => {
  t.equal(createMemoryReplayStore, core.createMemoryReplayStore)
  const store: ReplayStore = core.createMemoryReplayStore()
  t.equal(await store.markUsed('k', Date.now() / 1000 + 10), true)
})

t.test('a shared store gets a signal, and one claim wins across "instances"', async (t) => {
  const shared = core.createMemoryReplayStore()
  const signals: (AbortSignal | undefined)[] = []
  const spy: core.ReplayStore = {
    markUsed: (key, expiresAt, options) => {
      signals.push(options?.signal)
      return shared.markUsed(key, expiresAt)
    },
  }
  const instance = () =>
    createIdentityAssertionVerifier({
      issuer: AS_ISSUER,
      trustedIssuers: { [IDP]: { key: { keys: [idp.publicJwk] } } },
      resources: [RESOURCE],
      replayStore: spy,
    })
  const [a, b] = [instance(), instance()]
  const assertion = await mintAssertion(idp)
  const client = { client_id: CLIENT_ID }
  const results = await Promise.allSettled([
    a.verify(assertion, { client }),
    b.verify(assertion, { client }),
  ])
  t.same(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'])
  t.ok(signals.every((signal) => signal instanceof AbortSignal))
  t.ok(
    signals.every((signal) => signal?.aborted === true),
    'aborted once the wait ended',
  )
})
