import t from 'tap'
import {
  Refusal,
  accessTokenFromClaims,
  checkConfirmation,
  createCachedVerifier,
  createCompositeVerifier,
  createMemoryRevocationList,
  withRevocationCheck,
  defineVerifier,
  type AccessToken,
  type RefusalCode,
  type SenderConstraintContext,
  type TokenVerifier,
  type VerifyOptions,
} from '../src/index.js'

const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
const OTHER = 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2'
const NOW = 1_800_000_000_000
const claims = (extra: Record<string, unknown> = {}) => ({
  client_id: 'app',
  iss: 'https://as.example.com',
  aud: 'https://rs.example.com',
  exp: NOW / 1000 + 3600,
  ...extra,
})

/** A verifier that enforces the binding as jwt and introspection do, and counts its calls. */
function binding(tokens: Record<string, Record<string, unknown>>) {
  const seen: (SenderConstraintContext | undefined)[] = []
  const verifier = defineVerifier('test', (token, options) => {
    seen.push(options.senderConstraint)
    const payload = tokens[token]
    if (payload === undefined) return new Refusal('malformed', 'unknown')
    const refusal = checkConfirmation(payload.cnf, options.senderConstraint)
    if (refusal !== null) return refusal
    return accessTokenFromClaims(token, payload)
  })
  return { verifier, seen }
}

async function outcome(
  verifier: TokenVerifier,
  token: string,
  senderConstraint?: SenderConstraintContext,
): Promise<string> {
  let code: RefusalCode | undefined
  const options: VerifyOptions = {
    onRefusal: (r) => (code = r.code),
    ...(senderConstraint === undefined ? {} : { senderConstraint }),
  }
  const result = await verifier.verifyToken(token, options)
  return result === null ? `refused ${code}` : 'accepted'
}

t.test('AccessToken.cnf is the frozen cnf claim', async (t) => {
  const bound = accessTokenFromClaims('t', claims({ cnf: { jkt: JKT } })) as AccessToken
  t.same(bound.cnf, { jkt: JKT })
  t.ok(Object.isFrozen(bound.cnf))
  t.equal(bound.cnf, bound.claims.cnf)
  t.equal((accessTokenFromClaims('t', claims()) as AccessToken).cnf, undefined)
  t.equal((accessTokenFromClaims('t', claims({ cnf: 'x' })) as AccessToken).cnf, undefined)
})

t.test('the cache keeps the binding on hits', async (t) => {
  const { verifier, seen } = binding({ bound: claims({ cnf: { jkt: JKT } }), plain: claims() })
  const cached = createCachedVerifier(verifier, { now: () => NOW, negativeTtl: 60 })
  // Loaded with the right proof: cached.
  t.equal(await outcome(cached, 'bound', { dpopJkt: JKT }), 'accepted')
  t.equal(seen.length, 1)
  // Hits: without a proof context, with another key, with a certificate only: refused.
  t.equal(await outcome(cached, 'bound'), 'refused sender_constrained')
  t.equal(await outcome(cached, 'bound', { dpopJkt: OTHER }), 'refused sender_constrained')
  t.equal(
    await outcome(cached, 'bound', { certificateThumbprint: JKT }),
    'refused sender_constrained',
  )
  t.equal(await outcome(cached, 'bound', { dpopJkt: JKT }), 'accepted')
  t.equal(seen.length, 1, 'all of them hits')
  // An unbound token needs no context.
  t.equal(await outcome(cached, 'plain'), 'accepted')
  t.equal(await outcome(cached, 'plain', { dpopJkt: JKT }), 'accepted')
  // The hit's AccessToken carries cnf.
  const hit = await cached.verifyToken('bound', { senderConstraint: { dpopJkt: JKT } })
  t.same(hit?.cnf, { jkt: JKT })
})

t.test('a refusal for want of the proof is never cached', async (t) => {
  const { verifier, seen } = binding({ bound: claims({ cnf: { jkt: JKT } }) })
  const cached = createCachedVerifier(verifier, { now: () => NOW, negativeTtl: 60 })
  t.equal(await outcome(cached, 'bound'), 'refused sender_constrained')
  t.equal(await outcome(cached, 'bound', { dpopJkt: OTHER }), 'refused sender_constrained')
  t.equal(await outcome(cached, 'bound', { dpopJkt: JKT }), 'accepted')
  t.same(seen, [undefined, { dpopJkt: OTHER }, { dpopJkt: JKT }])
  // Other refusals are (negativeTtl).
  t.equal(await outcome(cached, 'nope'), 'refused malformed')
  t.equal(await outcome(cached, 'nope'), 'refused malformed')
  t.equal(seen.length, 4)
})

t.test('concurrent callers with different proofs do not share a load', async (t) => {
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => (release = resolve))
  const seen: (SenderConstraintContext | undefined)[] = []
  const slow = defineVerifier('slow', async (token, options) => {
    seen.push(options.senderConstraint)
    await gate
    const refusal = checkConfirmation({ jkt: JKT }, options.senderConstraint)
    return refusal ?? accessTokenFromClaims(token, claims({ cnf: { jkt: JKT } }))
  })
  const cached = createCachedVerifier(slow, { now: () => NOW })
  // A thief (another key) and the owner at the same moment: the owner is not refused because of
  // the thief's proof; two callers with the same proof share one load.
  const thief = outcome(cached, 'bound', { dpopJkt: OTHER })
  const owner = outcome(cached, 'bound', { dpopJkt: JKT })
  const twin = outcome(cached, 'bound', { dpopJkt: JKT })
  const bare = outcome(cached, 'bound')
  release()
  t.same(await Promise.all([thief, owner, twin, bare]), [
    'refused sender_constrained',
    'accepted',
    'accepted',
    'refused sender_constrained',
  ])
  t.equal(seen.length, 3)
})

t.test('a verifier that ignores cnf is held to it by the cache', async (t) => {
  const careless = defineVerifier('careless', (token) =>
    accessTokenFromClaims(token, claims({ cnf: { 'x5t#S256': JKT } })),
  )
  const cached = createCachedVerifier(careless, { now: () => NOW })
  t.equal(await outcome(cached, 'bound'), 'refused sender_constrained')
  t.equal(await outcome(cached, 'bound', { certificateThumbprint: JKT }), 'accepted')
  t.equal(
    await outcome(cached, 'bound', { certificateThumbprint: OTHER }),
    'refused sender_constrained',
  )
  t.equal(await outcome(cached, 'bound'), 'refused sender_constrained')
})

t.test('the composite verifier forwards the proof context', async (t) => {
  const { verifier, seen } = binding({ opaque: claims({ cnf: { jkt: JKT } }) })
  const composite = createCompositeVerifier({ opaque: verifier })
  t.equal(await outcome(composite, 'opaque', { dpopJkt: JKT }), 'accepted')
  t.equal(await outcome(composite, 'opaque'), 'refused sender_constrained')
  t.same(seen, [{ dpopJkt: JKT }, undefined])
})

t.test('the revocation check forwards the proof context', async (t) => {
  const { verifier, seen } = binding({ opaque: claims({ cnf: { jkt: JKT } }) })
  const checked = withRevocationCheck(verifier, createMemoryRevocationList({ now: () => NOW }))
  t.equal(await outcome(checked, 'opaque', { dpopJkt: JKT }), 'accepted')
  t.equal(await outcome(checked, 'opaque'), 'refused sender_constrained')
  t.same(seen, [{ dpopJkt: JKT }, undefined])
})
