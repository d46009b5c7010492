// Red-team finding: a Host or X-Forwarded-* value that is not a plain host (or scheme) moved the
// path the DPoP htu check saw. `X-Forwarded-Host: api.example.com/other#` made a request for /mcp
// read as `https://api.example.com/other#/mcp`, so a proof made for /other passed on /mcp.
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

t.test('X-Forwarded-Host or -Proto from a trusted proxy cannot move the htu path', async (t) => {
  const app = Fastify({ trustProxy: true })
  t.teardown(() => app.close())
  const verifier = createJwtVerifier({
    issuer: ISSUER,
    audience: RESOURCE,
    key: issuerKey.publicPem,
  })
  t.teardown(() => verifier.close())
  await app.register(bearerAuth, { verifier, dpop: true })
  app.get('/mcp', async () => ({ ok: true }))
  const bound = await createToken({
    key: issuerKey,
    issuer: ISSUER,
    audience: RESOURCE,
    scopes: ['mcp'],
    claims: { cnf: { jkt } },
  })
  const status = async (htu: string, forwarded: Record<string, string>) =>
    (
      await app.inject({
        url: '/mcp',
        headers: {
          authorization: `DPoP ${bound}`,
          dpop: await dpopProof(htu, bound),
          ...forwarded,
        },
      })
    ).statusCode

  for (const host of [
    'api.example.com/other#',
    'api.example.com/other?',
    'api.example.com\\other#',
  ]) {
    t.equal(
      await status('https://api.example.com/other', {
        'x-forwarded-proto': 'https',
        'x-forwarded-host': host,
      }),
      401,
      `X-Forwarded-Host: ${host}`,
    )
  }
  t.equal(
    await status('https://api.example.com/other', {
      'x-forwarded-proto': 'https://api.example.com/other#',
    }),
    401,
    'X-Forwarded-Proto with a path',
  )
  t.equal(
    await status('https://api.example.com/mcp', {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'api.example.com',
    }),
    200,
  )
})
