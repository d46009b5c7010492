import nock from 'nock'
import t from 'tap'
import type { SenderConstraintContext } from '@bearerkit/core'
import { createIntrospectionVerifier } from '../src/index.js'
import { activeAnswer, baseOptions, newToken, verify } from './fixtures/common.js'
import { useNock } from './fixtures/net.js'

const AS = 'https://as.example.com'
const PATH = '/oauth/introspect'
const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
const X5T = 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2'

t.test('a bound answer is accepted only with the matching proof, on cached hits too', async (t) => {
  useNock(t)
  const token = newToken()
  const scope = nock(AS)
    .post(PATH)
    .reply(200, activeAnswer({ token_type: 'DPoP', cnf: { jkt: JKT } }))
  const verifier = createIntrospectionVerifier(baseOptions())
  const check = async (senderConstraint?: SenderConstraintContext) => {
    const { accessToken, refusal } = await verify(
      verifier,
      token,
      senderConstraint === undefined ? {} : { senderConstraint },
    )
    return accessToken === null ? refusal : JSON.stringify(accessToken.cnf)
  }
  t.equal(await check({ dpopJkt: JKT }), JSON.stringify({ jkt: JKT }))
  t.ok(scope.isDone())
  // Every later call is a hit on the cached answer: the binding is checked each time.
  t.equal(await check(), 'sender_constrained')
  t.equal(await check({ dpopJkt: X5T }), 'sender_constrained')
  t.equal(await check({ certificateThumbprint: JKT }), 'sender_constrained')
  t.equal(await check({ dpopJkt: JKT }), JSON.stringify({ jkt: JKT }))
})

t.test('a first call without the proof does not poison the cache for the owner', async (t) => {
  useNock(t)
  const token = newToken()
  const scope = nock(AS)
    .post(PATH)
    .reply(200, activeAnswer({ cnf: { 'x5t#S256': X5T } }))
  const verifier = createIntrospectionVerifier(baseOptions())
  t.equal((await verify(verifier, token)).refusal, 'sender_constrained')
  const owner = await verify(verifier, token, { senderConstraint: { certificateThumbprint: X5T } })
  t.same(owner.accessToken?.cnf, { 'x5t#S256': X5T })
  t.ok(scope.isDone(), 'one introspection for both')
})

t.test('token_type DPoP without cnf.jkt cannot be checked and is refused', async (t) => {
  for (const cnf of [undefined, { 'x5t#S256': X5T }]) {
    useNock(t)
    nock(AS)
      .post(PATH)
      .reply(200, activeAnswer({ token_type: 'dpop', cnf }))
    const verifier = createIntrospectionVerifier(baseOptions({ cache: false }))
    const proofs = { senderConstraint: { dpopJkt: JKT, certificateThumbprint: X5T } }
    t.equal((await verify(verifier, newToken(), proofs)).refusal, 'sender_constrained')
  }
})
