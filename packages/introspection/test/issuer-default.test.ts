import {
  createMemoryRevocationList,
  principalComponents,
  revokeSubject,
  withRevocationCheck,
} from '@bearerkit/core'
import t from 'tap'
import { createIntrospectionVerifier } from '../src/index.js'
import {
  ISSUER,
  NOW,
  NOW_S,
  activeAnswer,
  baseOptions,
  newToken,
  verify,
} from './fixtures/common.js'

// Red-team finding "revokeSubject never reaches introspected tokens whose answer has no iss":
// RFC 7662 §2.2 makes iss optional and the verifier accepts such an answer as its configured
// issuer's, but the AccessToken said issuer undefined, so the principal was (client, null, sub)
// and revokeSubject({ issuer, subject }) never matched it.

/** A verifier whose endpoint answers `body` to every request (no cache, no network). */
function answering(body: Record<string, unknown>, extra: Parameters<typeof baseOptions>[0] = {}) {
  const fetch = async (): Promise<Response> =>
    new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } })
  return createIntrospectionVerifier(baseOptions({ cache: false, fetch, ...extra }))
}

const withoutIss = (): Record<string, unknown> => {
  const answer = activeAnswer()
  delete answer.iss
  return answer
}

t.test('revokeSubject never reaches introspected tokens whose answer has no iss', async (t) => {
  const revocations = createMemoryRevocationList({ now: () => NOW })
  const verifier = withRevocationCheck(answering(withoutIss()), revocations)
  const token = newToken()
  const before = await verify(verifier, token)
  t.equal(before.accessToken?.issuer, ISSUER, 'the configured issuer stands in for the missing iss')
  t.equal(before.accessToken?.claims.iss, undefined, 'the claims stay as the server sent them')
  t.same(principalComponents(before.accessToken!), ['mcp-client', ISSUER, 'alice'])
  t.ok(Object.isFrozen(before.accessToken))
  t.notOk(JSON.stringify(before.accessToken).includes(token), 'the JSON form has no token')
  await revokeSubject(revocations, { issuer: ISSUER, subject: 'alice' }, { before: NOW_S })
  const after = await verify(verifier, token)
  t.same(after, { accessToken: null, refusal: 'revoked' })
})

t.test(
  'an answer with its own iss keeps it; without a configured issuer none is made up',
  async (t) => {
    const own = await verify(answering(activeAnswer()), newToken())
    t.equal(own.accessToken?.issuer, ISSUER)
    const other = await verify(answering(activeAnswer({ iss: 'https://evil.example' })), newToken())
    t.same(other, { accessToken: null, refusal: 'wrong_issuer' })
    const unconfigured = await verify(answering(withoutIss(), { issuer: undefined }), newToken())
    t.equal(unconfigured.accessToken?.issuer, undefined)
    t.equal(unconfigured.accessToken?.subject, 'alice')
  },
)
