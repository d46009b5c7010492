// Red-team finding: with Fastify's rewriteUrl, the DPoP htu check looked at the rewritten URL, not
// the one the client called (RFC 9449 §4.3). A client's proof for /public was refused on
// /public, and a proof made for /admin passed there; Express (req.originalUrl) decided the other
// way round.
import { createHash, randomUUID } from 'node:crypto'
import { createJwtVerifier } from '@bearerkit/jwt'
import { createToken, generateKeyPair } from '@bearerkit/testing'
import Fastify from 'fastify'
import { SignJWT, calculateJwkThumbprint, type JWK } from 'jose'
import t from 'tap'
import { bearerAuth } from '../src/index.js'

const ISSUER = 'https://login.example.com/'
const RESOURCE = 'https://api.example.com/mcp'
const issuerKey = await generateKeyPair('ES256')
const clientKey = await generateKeyPair('ES256')
const jkt = await calculateJwkThumbprint(clientKey.publicJwk)

async function dpopProof(htu: string, token: string): Promise<string> {
  const { kty, crv, x, y } = clientKey.publicJwk as JWK
  return new SignJWT({
    htm: 'GET',
    htu,
    ath: createHash('sha256').update(token).digest('base64url'),
    jti: randomUUID(),
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })
    .setIssuedAt()
    .sign(clientKey.privateKey)
}

t.test('rewriteUrl: htu names the URL the client called, not the rewritten one', async (t) => {
  const app = Fastify({
    rewriteUrl: (req) => (req.url === '/public' ? '/admin' : (req.url ?? '/')),
  })
  t.teardown(() => app.close())
  const verifier = createJwtVerifier({
    issuer: ISSUER,
    audience: RESOURCE,
    key: issuerKey.publicPem,
  })
  t.teardown(() => verifier.close())
  await app.register(bearerAuth, { verifier, dpop: { publicOrigin: 'https://api.example.com' } })
  app.get('/admin', async () => ({ ok: true }))
  const bound = await createToken({
    key: issuerKey,
    issuer: ISSUER,
    audience: RESOURCE,
    scopes: ['mcp'],
    claims: { cnf: { jkt } },
  })
  const status = async (path: string, htu: string) =>
    (
      await app.inject({
        url: path,
        headers: { authorization: `DPoP ${bound}`, dpop: await dpopProof(htu, bound) },
      })
    ).statusCode
  t.equal(await status('/public', 'https://api.example.com/public'), 200)
  t.equal(await status('/public', 'https://api.example.com/admin'), 401)
  t.equal(await status('/admin', 'https://api.example.com/admin'), 200)
})
