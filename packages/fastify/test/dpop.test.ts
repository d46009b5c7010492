// DPoP (RFC 9449) and certificate-bound tokens (RFC 8705) through the Fastify plugin: a DPoP-only
// route and a mixed route in one app, CORS preflights and HEAD, trustProxy, and the shared suite
// of every adapter (mTLS over real TLS, Client-Cert from trusted proxies).
import { createHash, randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { createJwtVerifier } from '@bearerkit/jwt'
import { createToken, generateKeyPair, type TestKeyPair } from '@bearerkit/testing'
import cors from '@fastify/cors'
import Fastify, { type FastifyInstance } from 'fastify'
import { SignJWT, calculateJwkThumbprint, type JWK } from 'jose'
import t, { type Test } from 'tap'
import {
  runSenderConstraintSuite,
  type Identity,
} from '../../http/test/fixtures/sender-constraint-suite.js'
import { bearerAuth, type BearerAuthOptions } from '../src/index.js'

const ISSUER = 'https://login.example.com/'
const RESOURCE = 'https://api.example.com/mcp'
const METADATA = 'https://api.example.com/.well-known/oauth-protected-resource/mcp'

const issuerKey = await generateKeyPair('ES256')
const clientKey = await generateKeyPair('ES256')
const jkt = await calculateJwkThumbprint(clientKey.publicJwk)

const mint = (claims: Record<string, unknown> = {}) =>
  createToken({ key: issuerKey, issuer: ISSUER, audience: RESOURCE, scopes: ['mcp'], claims })

async function dpopProof(
  key: TestKeyPair,
  method: string,
  htu: string,
  token: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  // The public members only: kid, use and alg are not part of a proof's jwk.
  const { kty, crv, x, y } = key.publicJwk as JWK
  const jwk = { kty, crv, x, y }
  return new SignJWT({
    htm: method,
    htu,
    ath: createHash('sha256').update(token).digest('base64url'),
    jti: randomUUID(),
    ...extra,
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
    .setIssuedAt()
    .sign(key.privateKey)
}

function verifier(t: Test) {
  const jwt = createJwtVerifier({ issuer: ISSUER, audience: RESOURCE, key: issuerKey.publicPem })
  t.teardown(() => jwt.close())
  return jwt
}

/** One app: /mcp accepts Bearer and DPoP; /strict/mcp accepts DPoP only. */
async function buildApp(t: Test) {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cors, { origin: 'https://app.example.com' })
  const jwt = verifier(t)
  await app.register(async (mixed) => {
    await mixed.register(bearerAuth, {
      verifier: jwt,
      resource: { url: RESOURCE, authorizationServers: [ISSUER] },
      dpop: { algorithms: ['ES256'] },
    })
    mixed.get('/mcp', async (request) => ({ cnf: request.accessToken?.cnf ?? null }))
  })
  await app.register(async (strict) => {
    await strict.register(bearerAuth, {
      verifier: jwt,
      resource: { url: RESOURCE, authorizationServers: [ISSUER] },
      metadata: false,
      dpop: { required: true, algorithms: ['ES256'] },
    })
    strict.get('/strict/mcp', async () => ({ ok: true }))
  })
  return app
}

t.test('the mixed route: DPoP with its proof, Bearer for unbound tokens', async (t) => {
  const app = await buildApp(t)
  const bound = await mint({ cnf: { jkt } })
  const plain = await mint()
  const url = 'http://localhost/mcp'
  const dpop = await app.inject({
    url: '/mcp',
    headers: {
      authorization: `DPoP ${bound}`,
      dpop: await dpopProof(clientKey, 'GET', url, bound),
    },
  })
  t.equal(dpop.statusCode, 200)
  t.same(dpop.json(), { cnf: { jkt } })
  t.equal(
    (await app.inject({ url: '/mcp', headers: { authorization: `Bearer ${plain}` } })).statusCode,
    200,
  )
  // A bound token as Bearer.
  const stolen = await app.inject({ url: '/mcp', headers: { authorization: `Bearer ${bound}` } })
  t.equal(stolen.statusCode, 401)
  t.match(
    stolen.headers['www-authenticate'],
    /^Bearer error="invalid_token", .*, DPoP resource_metadata=".*", algs="ES256"$/,
  )
  t.same(stolen.json(), {
    error: 'invalid_token',
    error_description:
      'The access token is sender-constrained (cnf) and was presented without its proof',
  })
  // The proof replayed.
  const proof = await dpopProof(clientKey, 'GET', url, bound)
  const headers = { authorization: `DPoP ${bound}`, dpop: proof }
  t.equal((await app.inject({ url: '/mcp', headers })).statusCode, 200)
  const replay = await app.inject({ url: '/mcp', headers })
  t.equal(replay.statusCode, 401)
  t.equal(
    replay.headers['www-authenticate'],
    `Bearer resource_metadata="${METADATA}", DPoP error="invalid_dpop_proof", error_description="The DPoP proof was already used", resource_metadata="${METADATA}", algs="ES256"`,
  )
  // Two DPoP header lines.
  const twice = await app.inject({
    url: '/mcp',
    headers: {
      authorization: `DPoP ${bound}`,
      dpop: [
        await dpopProof(clientKey, 'GET', url, bound),
        await dpopProof(clientKey, 'GET', url, bound),
      ],
    },
  })
  t.equal(twice.statusCode, 401)
  t.equal(twice.json<{ error: string }>().error, 'invalid_dpop_proof')
  // No credentials: both challenges.
  const none = await app.inject({ url: '/mcp' })
  t.equal(none.statusCode, 401)
  t.equal(
    none.headers['www-authenticate'],
    `Bearer resource_metadata="${METADATA}", DPoP resource_metadata="${METADATA}", algs="ES256"`,
  )
  // HEAD: the same refusal, no body; HEAD with its own proof (htm HEAD) passes.
  const head = await app.inject({
    method: 'HEAD',
    url: '/mcp',
    headers: {
      authorization: `DPoP ${bound}`,
      dpop: await dpopProof(clientKey, 'GET', url, bound),
    },
  })
  t.equal(head.statusCode, 401)
  t.equal(head.body, '')
  t.match(head.headers['www-authenticate'], /DPoP error="invalid_dpop_proof"/)
  const headOk = await app.inject({
    method: 'HEAD',
    url: '/mcp',
    headers: {
      authorization: `DPoP ${bound}`,
      dpop: await dpopProof(clientKey, 'HEAD', url, bound),
    },
  })
  t.equal(headOk.statusCode, 200)
  // The metadata document advertises DPoP.
  const metadata = await app.inject({ url: '/.well-known/oauth-protected-resource/mcp' })
  const document = metadata.json<Record<string, unknown>>()
  t.same(document.dpop_signing_alg_values_supported, ['ES256'])
  t.equal(document.dpop_bound_access_tokens_required, undefined)
})

t.test('the DPoP-only route refuses Bearer and keeps CORS preflights working', async (t) => {
  const app = await buildApp(t)
  const bound = await mint({ cnf: { jkt } })
  const plain = await mint()
  const url = 'http://localhost/strict/mcp'
  const bearer = await app.inject({
    url: '/strict/mcp',
    headers: { authorization: `Bearer ${plain}` },
  })
  t.equal(bearer.statusCode, 401)
  t.equal(
    bearer.headers['www-authenticate'],
    `DPoP error="invalid_token", error_description="This resource accepts only DPoP-bound access tokens (Authorization: DPoP)", resource_metadata="${METADATA}", algs="ES256"`,
  )
  const ok = await app.inject({
    url: '/strict/mcp',
    headers: {
      authorization: `DPoP ${bound}`,
      dpop: await dpopProof(clientKey, 'GET', url, bound),
    },
  })
  t.equal(ok.statusCode, 200)
  // A browser preflight is answered by @fastify/cors without credentials.
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/strict/mcp',
    headers: {
      origin: 'https://app.example.com',
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'authorization, dpop',
    },
  })
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example.com')
  // A proof made for the other route does not pass here.
  const wrong = await app.inject({
    url: '/strict/mcp',
    headers: {
      authorization: `DPoP ${bound}`,
      dpop: await dpopProof(clientKey, 'GET', 'http://localhost/mcp', bound),
    },
  })
  t.equal(wrong.statusCode, 401)
  t.equal(
    wrong.json<{ error_description: string }>().error_description,
    'The DPoP proof was made for another URI',
  )
})

t.test('behind a proxy, trustProxy decides which origin htu must name', async (t) => {
  const app = Fastify({ trustProxy: true })
  t.teardown(() => app.close())
  await app.register(bearerAuth, { verifier: verifier(t), dpop: true })
  app.get('/mcp', async () => ({ ok: true }))
  const bound = await mint({ cnf: { jkt } })
  const send = async (htu: string) =>
    (
      await app.inject({
        url: '/mcp',
        headers: {
          authorization: `DPoP ${bound}`,
          dpop: await dpopProof(clientKey, 'GET', htu, bound),
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'api.example.com',
        },
      })
    ).statusCode
  t.equal(await send('https://api.example.com/mcp'), 200)
  t.equal(await send('http://localhost/mcp'), 401)
})

async function start(t: Test, options: BearerAuthOptions, tls?: Identity) {
  // One type for both servers: the routes and hooks are the same.
  const app = (
    tls === undefined
      ? Fastify()
      : Fastify({ https: { ...tls, requestCert: true, rejectUnauthorized: false } })
  ) as FastifyInstance
  t.teardown(() => app.close())
  await app.register(bearerAuth, options)
  app.get('/mcp', async (request) => ({ cnf: request.accessToken?.cnf ?? null }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { port: (app.server.address() as AddressInfo).port }
}

// The suite every adapter runs: real HTTP and TLS, what reaches the gate from the socket.
await runSenderConstraintSuite(t, start)
