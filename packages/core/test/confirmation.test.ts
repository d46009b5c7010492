import t from 'tap'
import { Refusal, checkConfirmation, readConfirmation } from '../src/index.js'

const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
const X5T = 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2'

const code = (refusal: Refusal | null): string | null => refusal?.code ?? null

t.test('an unbound token needs no context', async (t) => {
  t.equal(checkConfirmation(undefined, undefined), null)
  t.equal(checkConfirmation(undefined, { dpopJkt: JKT }), null)
  t.equal(readConfirmation(undefined), undefined)
})

t.test('a bound token without the proof context is refused (the safe default)', async (t) => {
  t.equal(code(checkConfirmation({ jkt: JKT }, undefined)), 'sender_constrained')
  t.equal(code(checkConfirmation({ 'x5t#S256': X5T }, undefined)), 'sender_constrained')
  t.equal(code(checkConfirmation({ jkt: JKT }, {})), 'sender_constrained')
  t.equal(code(checkConfirmation({ jkt: JKT }, null as never)), 'sender_constrained')
  t.equal(code(checkConfirmation({ jkt: JKT }, 'ctx' as never)), 'sender_constrained')
  t.match(checkConfirmation({ jkt: JKT }, undefined), {
    description: /presented without its proof/,
  })
})

t.test('DPoP: the proof key must be the bound key', async (t) => {
  t.equal(checkConfirmation({ jkt: JKT }, { dpopJkt: JKT }), null)
  t.match(checkConfirmation({ jkt: JKT }, { dpopJkt: `${JKT.slice(0, -1)}Y` }), {
    code: 'sender_constrained',
    description: /other than the one/,
  })
  // A certificate is no DPoP proof.
  t.equal(
    code(checkConfirmation({ jkt: JKT }, { certificateThumbprint: JKT })),
    'sender_constrained',
  )
})

t.test('mTLS: the connection certificate must be the bound one', async (t) => {
  t.equal(checkConfirmation({ 'x5t#S256': X5T }, { certificateThumbprint: X5T }), null)
  t.match(checkConfirmation({ 'x5t#S256': X5T }, { certificateThumbprint: JKT }), {
    code: 'sender_constrained',
    description: /certificate/,
  })
  t.equal(code(checkConfirmation({ 'x5t#S256': X5T }, { dpopJkt: X5T })), 'sender_constrained')
})

t.test('both confirmations: both must match', async (t) => {
  const both = { jkt: JKT, 'x5t#S256': X5T }
  t.equal(checkConfirmation(both, { dpopJkt: JKT, certificateThumbprint: X5T }), null)
  t.equal(code(checkConfirmation(both, { dpopJkt: JKT })), 'sender_constrained')
  t.equal(code(checkConfirmation(both, { certificateThumbprint: X5T })), 'sender_constrained')
  t.equal(
    code(checkConfirmation(both, { dpopJkt: JKT, certificateThumbprint: JKT })),
    'sender_constrained',
  )
})

t.test('a cnf bearerkit cannot check is refused, never skipped', async (t) => {
  const refused = (cnf: unknown, expected: string) =>
    t.equal(
      code(checkConfirmation(cnf, { dpopJkt: JKT, certificateThumbprint: X5T })),
      expected,
      JSON.stringify(cnf),
    )
  refused({ jwk: { kty: 'EC' } }, 'sender_constrained')
  refused({ kid: 'k1' }, 'sender_constrained')
  refused({ jkt: JKT, jku: 'https://x' }, 'sender_constrained')
  refused({ x5t: 'abc' }, 'sender_constrained')
  refused({}, 'invalid_claim')
  refused(null, 'invalid_claim')
  refused('jkt', 'invalid_claim')
  refused([JKT], 'invalid_claim')
  refused({ jkt: 42 }, 'invalid_claim')
  refused({ jkt: '' }, 'invalid_claim')
  refused({ 'x5t#S256': null }, 'invalid_claim')
  // Inherited members are not confirmations.
  refused(Object.create({ jkt: JKT }) as unknown, 'invalid_claim')
  t.same(readConfirmation({ jkt: JKT }), { jkt: JKT })
  t.ok(readConfirmation({ kid: 'x' }) instanceof Refusal)
})
