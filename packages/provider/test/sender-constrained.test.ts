import t from 'tap'
import type { Refusal, TokenVerifier, VerifyOptions } from '@bearerkit/core'
import {
  createProviderVerifier,
  fromMcpTokenVerifier,
  type McpTokenVerifier,
  type ProviderAccessToken,
} from '../src/index.js'

// Red-team finding "provider: sender-constrained tokens accepted as bearer": a record or AuthInfo
// carrying `cnf` was returned to a caller that checked no proof, so a stolen DPoP- or mTLS-bound
// token worked as a plain bearer token (RFC 9449 §7.1, RFC 8705 §3).

const NOW = Date.UTC(2030, 0, 1)
const now = (): number => NOW
const AUD = 'https://mcp.example.com/mcp'
const JKT = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I'
const X5T = 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2'

const bound = (cnf: Record<string, unknown>): ProviderAccessToken => ({
  token: 'dpop-bound',
  clientId: 'client-a',
  scopes: ['admin'],
  expiresAt: NOW / 1000 + 600,
  audience: [AUD],
  subject: 'alice',
  claims: { cnf },
})

async function outcome(
  verifier: TokenVerifier,
  options: VerifyOptions = {},
): Promise<{ accepted: boolean; refusal?: Pick<Refusal, 'code' | 'description'> }> {
  let refusal: Refusal | undefined
  const result = await verifier.verifyToken('dpop-bound', {
    ...options,
    onRefusal: (r) => (refusal = r),
  })
  if (result !== null) return { accepted: true }
  if (refusal === undefined) throw new Error('refused without a refusal')
  return { accepted: false, refusal: { code: refusal.code, description: refusal.description } }
}

const needsProof = {
  accepted: false,
  refusal: {
    code: 'sender_constrained',
    description: 'The access token is sender-constrained (cnf) and was presented without its proof',
  },
}

t.test('provider: sender-constrained tokens accepted as bearer (provider record)', async (t) => {
  const provider = (cnf: Record<string, unknown>) =>
    createProviderVerifier(
      { loadAccessToken: async (token) => (token === 'dpop-bound' ? bound(cnf) : null) },
      { audience: AUD, now },
    )
  // Without any proof context: refused, whatever binding the record carries.
  t.same(await outcome(provider({ jkt: JKT })), needsProof)
  t.same(await outcome(provider({ 'x5t#S256': X5T })), needsProof)
  // A proof context of the other kind is no proof for this binding.
  t.same(
    await outcome(provider({ jkt: JKT }), { senderConstraint: { certificateThumbprint: X5T } }),
    needsProof,
  )
  // The wrong key or certificate.
  t.match(await outcome(provider({ jkt: JKT }), { senderConstraint: { dpopJkt: 'other-key' } }), {
    accepted: false,
    refusal: { code: 'sender_constrained', description: /other than/ },
  })
  t.match(
    await outcome(provider({ 'x5t#S256': X5T }), {
      senderConstraint: { certificateThumbprint: 'other-cert' },
    }),
    { accepted: false, refusal: { code: 'sender_constrained', description: /certificate/ } },
  )
  // A confirmation method nobody can check, and a malformed cnf.
  t.match(await outcome(provider({ jwk: { kty: 'EC' } }), { senderConstraint: { dpopJkt: JKT } }), {
    accepted: false,
    refusal: { code: 'sender_constrained' },
  })
  t.match(await outcome(provider({ jkt: '' }), { senderConstraint: { dpopJkt: JKT } }), {
    accepted: false,
    refusal: { code: 'invalid_claim' },
  })
  // The matching proof: accepted, with the confirmation on the AccessToken.
  const verifier = provider({ jkt: JKT })
  const accessToken = await verifier.verifyToken('dpop-bound', {
    senderConstraint: { dpopJkt: JKT },
  })
  t.same(accessToken?.cnf, { jkt: JKT })
  t.same(
    await outcome(provider({ 'x5t#S256': X5T }), {
      senderConstraint: { certificateThumbprint: X5T },
    }),
    { accepted: true },
  )
})

t.test('provider: sender-constrained tokens accepted as bearer (MCP SDK AuthInfo)', async (t) => {
  const sdk = (extra: Record<string, unknown>): McpTokenVerifier => ({
    verifyAccessToken: async (token: string) => ({
      token,
      clientId: 'client-a',
      scopes: ['admin'],
      expiresAt: NOW / 1000 + 600,
      resource: new URL(AUD),
      extra,
    }),
  })
  const fromSdk = (extra: Record<string, unknown>) =>
    fromMcpTokenVerifier(sdk(extra), { audience: AUD, now })
  t.same(await outcome(fromSdk({ claims: { cnf: { jkt: JKT } } })), needsProof)
  // A foreign AuthInfo (no extra.claims): its extra members are the claims, cnf included.
  t.same(await outcome(fromSdk({ cnf: { jkt: JKT } })), needsProof)
  t.match(
    await outcome(fromSdk({ claims: { cnf: { jkt: JKT } } }), {
      senderConstraint: { dpopJkt: 'other-key' },
    }),
    { accepted: false, refusal: { code: 'sender_constrained' } },
  )
  t.same(
    await outcome(fromSdk({ claims: { cnf: { jkt: JKT } } }), {
      senderConstraint: { dpopJkt: JKT },
    }),
    { accepted: true },
  )
  // An unbound token is unaffected by a proof context.
  t.same(await outcome(fromSdk({}), { senderConstraint: { dpopJkt: JKT } }), { accepted: true })
})
