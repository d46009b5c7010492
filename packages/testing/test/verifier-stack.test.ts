// The testing package driving the real verifier stack (@bearerkit/jwt behind @bearerkit/fastify),
// as a user's tests would: broken tokens are refused, faults become 503 and never 401, and the
// request counts show what the verifier fetched.
import { bearerAuth } from '@bearerkit/fastify'
import { createJwtVerifier, type JwtVerifierOptions } from '@bearerkit/jwt'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import {
  BROKEN_TOKEN_KINDS,
  createBrokenToken,
  createLocalAuthorizationServer,
  type BrokenTokenKind,
  type Fault,
  type LocalAuthorizationServer,
} from '../src/index.js'

const RESOURCE = 'http://127.0.0.1:3000/mcp'

async function stack(
  t: { teardown: (fn: () => unknown) => void },
  as: LocalAuthorizationServer,
  options: Partial<JwtVerifierOptions> = {},
): Promise<(token: string) => Promise<{ status: number; challenge: string }>> {
  const verifier = createJwtVerifier({ issuer: as.issuer, audience: RESOURCE, ...options })
  const app: FastifyInstance = Fastify()
  await app.register(bearerAuth, {
    verifier,
    resource: { url: RESOURCE, authorizationServers: [as.issuer] },
  })
  app.get('/mcp', () => 'ok')
  t.teardown(async () => {
    await app.close()
    verifier.close()
  })
  return async (token) => {
    const response = await app.inject({
      url: '/mcp',
      headers: { authorization: `Bearer ${token}` },
    })
    return {
      status: response.statusCode,
      challenge: String(response.headers['www-authenticate'] ?? ''),
    }
  }
}

// What the stack answers for each kind. Two are well-formed tokens on purpose (see
// BrokenTokenKind); two never reach the verifier because the Authorization header itself is
// refused (RFC 6750 §2.1 b64token syntax, header size limit).
const EXPECTED: Partial<Record<BrokenTokenKind, number>> = {
  'kid-missing': 200,
  'bad-base64url': 400,
  'huge-header': 400,
}
// RFC 9068 §2.2 makes iat REQUIRED, but the JWT verifier only requires it with maxTokenAge; its
// outcome is not asserted here.
const UNASSERTED: ReadonlySet<BrokenTokenKind> = new Set(['missing-iat'])

for (const algorithm of ['RS256', 'ES256', 'EdDSA'] as const) {
  t.test(`every broken token is refused by the verifier stack (${algorithm})`, async (t) => {
    const as = await createLocalAuthorizationServer({ algorithm, defaultResource: RESOURCE })
    t.teardown(() => as.close())
    const request = await stack(t, as)
    t.equal((await request(await as.issueToken())).status, 200, 'the control token passes')
    for (const kind of BROKEN_TOKEN_KINDS) {
      if (UNASSERTED.has(kind)) continue
      const token = await createBrokenToken(kind, {
        key: as.signingKey,
        issuer: as.issuer,
        audience: RESOURCE,
        attackerUrl: `${as.issuer}/attacker-jwks`,
      })
      const { status, challenge } = await request(token)
      const expected = EXPECTED[kind] ?? 401
      t.equal(status, expected, kind)
      if (expected === 401) t.match(challenge, /^Bearer error="invalid_token"/, kind)
    }
    // Keys are fetched once, and the attacker's jku/x5u URL never.
    t.same(
      [as.requestCount('metadata'), as.requestCount('jwks'), as.requestCount('other')],
      [1, 1, 0],
    )
  })
}

t.test('JWKS faults are 503 with Retry-After, never 401', async (t) => {
  const faults: Fault[] = [
    { type: 'reset' },
    { type: 'hang' },
    { type: 'status', status: 500 },
    { type: 'status', status: 503, headers: { 'retry-after': '9' } },
    { type: 'garbage' },
    { type: 'redirect' },
    { type: 'content-type', contentType: 'text/html' },
    { type: 'huge', bytes: 1024 * 1024 },
  ]
  const as = await createLocalAuthorizationServer({ defaultResource: RESOURCE })
  t.teardown(() => as.close())
  const token = await as.issueToken()
  for (const fault of faults) {
    as.setFault('jwks', fault)
    // A fresh verifier each time: nothing cached, no backoff carried over.
    const request = await stack(t, as, { jwksUri: as.jwksUri, jwks: { timeout: 200 } })
    const before = as.requestCount('jwks')
    const { status } = await request(token)
    t.equal(status, 503, JSON.stringify(fault))
    t.ok(as.requestCount('jwks') > before, 'the JWKS endpoint was asked')
  }
  as.clearFaults()
  await as.refuseConnections()
  const request = await stack(t, as, { jwksUri: as.jwksUri })
  t.equal((await request(token)).status, 503, 'connection refused')
  await as.acceptConnections()
})

t.test('a rotated key is fetched when a token names it', async (t) => {
  const as = await createLocalAuthorizationServer({ defaultResource: RESOURCE })
  t.teardown(() => as.close())
  const request = await stack(t, as, { jwksUri: as.jwksUri, jwks: { cooldown: 0 } })
  const old = await as.issueToken()
  t.equal((await request(old)).status, 200)
  await as.rotateKeys()
  t.equal((await request(await as.issueToken())).status, 200)
  t.equal((await request(old)).status, 200, 'the old key is still served')
  t.equal(as.requestCount('jwks'), 2, 'one fetch for the unknown kid')
  await as.rotateKeys({ keepOld: false })
  const fresh = await as.issueToken()
  t.equal((await request(fresh)).status, 200)
  t.equal((await request(old)).status, 401, 'a token of a dropped key is refused')
})
