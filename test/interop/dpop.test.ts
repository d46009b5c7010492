// RFC 9449 DPoP against oidc-provider: it binds the access tokens it issues to the key of the
// token request's proof (token_type DPoP, cnf.jkt, in the JWT and in the introspection answer).
// The resource server checks a fresh proof (made with jose here) and hands the thumbprint to the
// verifiers, which accept the token only with the matching key.
import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { createPublicKey } from 'node:crypto'
import { SignJWT, calculateJwkThumbprint } from 'jose'
import t from 'tap'
import type { AccessToken, RefusalCode, TokenVerifier } from '@bearerkit/core'
import { createIntrospectionVerifier } from '@bearerkit/introspection'
import { createJwtVerifier } from '@bearerkit/jwt'
import { createDpopProofVerifier } from '../../packages/http/src/dpop/dpop-proof-verifier.js'
import { decodeJwtPart } from './fixtures/access-token.js'
import { loopbackOnly } from './fixtures/network.js'
import { RESOURCES, startOidcProvider } from './fixtures/oidc-provider.js'

loopbackOnly(t)
const op = await startOidcProvider()
t.teardown(() => op.close())

const URL_ = 'https://es256.interop.test/mcp/tools'

async function rsProof(key: KeyObject, token: string, extra: Record<string, unknown> = {}) {
  const jwk = createPublicKey(key).export({ format: 'jwk' })
  return new SignJWT({
    htm: 'POST',
    htu: URL_,
    ath: createHash('sha256').update(token).digest('base64url'),
    ...extra,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
    .setIssuedAt()
    .setJti(randomUUID())
    .sign(key)
}

interface Outcome {
  result: AccessToken | null
  code: RefusalCode | undefined
}

async function verify(
  verifier: TokenVerifier,
  token: string,
  senderConstraint?: { dpopJkt?: string; certificateThumbprint?: string },
): Promise<Outcome> {
  let code: RefusalCode | undefined
  const options = {
    onRefusal: (refusal: { code: RefusalCode }) => (code = refusal.code),
    ...(senderConstraint === undefined ? {} : { senderConstraint }),
  }
  const result = await verifier.verifyToken(token, options)
  return { result, code }
}

t.test('a DPoP-bound JWT access token: accepted with its proof, refused without', async (t) => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  const jkt = await calculateJwkThumbprint(createPublicKey(key).export({ format: 'jwk' }))
  const issued = await op.issueToken(op.clients.basic, { resource: RESOURCES.es256, dpop: key })
  t.equal(issued.token_type, 'DPoP')
  const token = issued.access_token
  t.same(decodeJwtPart(token, 1).cnf, { jkt }, 'oidc-provider binds the token to the proof key')

  const verifier = createJwtVerifier({
    issuer: op.issuer,
    audience: RESOURCES.es256,
    jwksUri: op.jwksUri,
  })
  t.teardown(() => verifier.close())
  const proofs = createDpopProofVerifier()
  const checked = await proofs.verify({
    method: 'POST',
    url: URL_,
    proof: await rsProof(key, token),
    accessToken: token,
  })
  if (!checked.valid) throw new Error(`proof refused: ${checked.reason}`)
  t.equal(checked.jkt, jkt)

  const accepted = await verify(verifier, token, { dpopJkt: checked.jkt })
  t.equal(accepted.code, undefined)
  t.same(accepted.result?.cnf, { jkt })
  t.equal(accepted.result?.clientId, 'app-basic')
  // Without the proof context (a direct caller, or the Bearer scheme): refused, and why.
  t.same(await verify(verifier, token), { result: null, code: 'sender_constrained' })
  // A proof by another key.
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  const otherJkt = await calculateJwkThumbprint(createPublicKey(other).export({ format: 'jwk' }))
  t.same(await verify(verifier, token, { dpopJkt: otherJkt }), {
    result: null,
    code: 'sender_constrained',
  })
  // A certificate thumbprint is no DPoP proof.
  t.same(await verify(verifier, token, { certificateThumbprint: jkt }), {
    result: null,
    code: 'sender_constrained',
  })
  // The stolen token with a proof the thief made with its own key, for the right request.
  const stolen = await proofs.verify({
    method: 'POST',
    url: URL_,
    proof: await rsProof(other, token),
    accessToken: token,
  })
  t.ok(stolen.valid, 'the proof itself is valid')
  if (stolen.valid) {
    t.same(await verify(verifier, token, { dpopJkt: stolen.jkt }), {
      result: null,
      code: 'sender_constrained',
    })
  }
  // oidc-provider's own proof for the token request cannot be replayed at the resource server.
  const replayed = await proofs.verify({
    method: 'POST',
    url: URL_,
    proof: await rsProof(key, token, { ath: undefined }),
    accessToken: token,
  })
  t.match(replayed, { valid: false, reason: 'missing_claim' })
})

t.test('an opaque DPoP-bound token: the introspection answer carries cnf', async (t) => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  const jkt = await calculateJwkThumbprint(createPublicKey(key).export({ format: 'jwk' }))
  const issued = await op.issueToken(op.clients.basic, { resource: RESOURCES.opaque, dpop: key })
  t.equal(issued.token_type, 'DPoP')
  const verifier = createIntrospectionVerifier({
    introspectionUrl: op.introspectionEndpoint,
    issuer: op.issuer,
    audience: RESOURCES.opaque,
    clientId: op.clients.resourceServer.clientId,
    clientSecret: op.clients.resourceServer.clientSecret,
  })
  const token = issued.access_token
  t.same(await verify(verifier, token), { result: null, code: 'sender_constrained' })
  const accepted = await verify(verifier, token, { dpopJkt: jkt })
  t.equal(accepted.code, undefined)
  t.same(accepted.result?.cnf, { jkt })
  t.equal(accepted.result?.claims.token_type, 'DPoP')
  // The cached answer keeps the binding: without the context, or with another key, refused.
  t.same(await verify(verifier, token), { result: null, code: 'sender_constrained' })
  t.same(await verify(verifier, token, { dpopJkt: 'x'.repeat(43) }), {
    result: null,
    code: 'sender_constrained',
  })
  t.ok((await verify(verifier, token, { dpopJkt: jkt })).result)
})
