import t from 'tap'
import type { RefusalCode, SenderConstraintContext } from '@bearerkit/core'
import { createJwtVerifier } from '../src/index.js'
import { AUDIENCE, ISSUER, NOW, mint, pair } from './fixtures/keys.js'

const JKT = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I'
const X5T = 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2'

t.test('a bound JWT is accepted only with the matching proof context', async (t) => {
  const rsa = await pair('ES256')
  const verifier = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    key: rsa.pem,
    now: () => NOW,
  })
  const outcome = async (
    cnf: unknown,
    senderConstraint?: SenderConstraintContext,
  ): Promise<string> => {
    let code: RefusalCode | undefined
    const result = await verifier.verifyToken(await mint(rsa, { claims: { cnf } }), {
      onRefusal: (r) => (code = r.code),
      ...(senderConstraint === undefined ? {} : { senderConstraint }),
    })
    return result === null ? `refused ${code}` : `accepted ${JSON.stringify(result.cnf)}`
  }
  // DPoP (RFC 9449 §6.1): the thumbprint of the proof key.
  t.equal(await outcome({ jkt: JKT }, { dpopJkt: JKT }), `accepted {"jkt":"${JKT}"}`)
  t.equal(await outcome({ jkt: JKT }, { dpopJkt: X5T }), 'refused sender_constrained')
  t.equal(await outcome({ jkt: JKT }, {}), 'refused sender_constrained')
  t.equal(await outcome({ jkt: JKT }), 'refused sender_constrained')
  // mTLS (RFC 8705 §3.1): the thumbprint of the client certificate.
  t.equal(
    await outcome({ 'x5t#S256': X5T }, { certificateThumbprint: X5T }),
    `accepted {"x5t#S256":"${X5T}"}`,
  )
  t.equal(await outcome({ 'x5t#S256': X5T }, { dpopJkt: X5T }), 'refused sender_constrained')
  // A confirmation method that cannot be checked is never skipped.
  t.equal(await outcome({ jkt: JKT, jwk: {} }, { dpopJkt: JKT }), 'refused sender_constrained')
  // An unbound token with a proof context: accepted (the gate decides about the scheme).
  t.equal(await outcome(undefined, { dpopJkt: JKT }), 'accepted undefined')
})
