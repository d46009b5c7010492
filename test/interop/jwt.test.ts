// @bearerkit/jwt against oidc-provider: RFC 9068 access tokens it issued through the client
// credentials grant with an RFC 8707 resource, verified through its JWKS URI and through
// discovery of its metadata.
import { createJwtVerifier, type JwtVerifierOptions } from '@bearerkit/jwt'
import t, { type Test } from 'tap'
import { decodeJwtPart, mapped, verifyWithReason } from './fixtures/access-token.js'
import { loopbackOnly } from './fixtures/network.js'
import {
  RESOURCES,
  startOidcProvider,
  type InteropClient,
  type SigningAlg,
} from './fixtures/oidc-provider.js'

loopbackOnly(t)
const op = await startOidcProvider()
t.teardown(() => op.close())

const RESOURCE_OF: Record<SigningAlg, string> = { RS256: RESOURCES.rs256, ES256: RESOURCES.es256 }

function verifierFor(t: Test, options: Partial<JwtVerifierOptions> & { audience: string }) {
  const verifier = createJwtVerifier({ issuer: op.issuer, ...options })
  t.teardown(() => verifier.close())
  return verifier
}

async function issue(resource: string, scope = 'mcp:read mcp:write', client = op.clients.basic) {
  const { access_token } = await op.issueToken(client, { resource, scope })
  return access_token
}

for (const alg of ['RS256', 'ES256'] as const) {
  const resource = RESOURCE_OF[alg]

  t.test(`${alg} at+jwt through jwksUri`, async (t) => {
    const token = await issue(resource)
    const header = decodeJwtPart(token, 0)
    t.equal(header.alg, alg, 'oidc-provider signed with the algorithm of the resource server')
    t.equal(header.typ, 'at+jwt', 'RFC 9068 §2.1 typ')
    const claims = decodeJwtPart(token, 1)

    const before = {
      metadata: op.requestCount('/.well-known/oauth-authorization-server'),
      jwks: op.requestCount('/jwks'),
    }
    const verifier = verifierFor(t, { audience: resource, jwksUri: op.jwksUri })
    const { result, code } = await verifyWithReason(verifier, token)
    t.equal(code, undefined)
    t.equal(result?.token, token)
    t.same(mapped(result), {
      clientId: 'app-basic',
      scopes: ['mcp:read', 'mcp:write'],
      // oidc-provider sets sub to the client id for client credentials tokens.
      subject: 'app-basic',
      issuer: op.issuer,
      audience: [resource],
      expiresAt: claims.exp,
    })
    t.same(result?.claims, claims, 'every claim as oidc-provider wrote it')
    t.equal(op.requestCount('/jwks') - before.jwks, 1, 'one JWKS fetch')
    t.equal(
      op.requestCount('/.well-known/oauth-authorization-server') - before.metadata,
      0,
      'no discovery',
    )
  })

  t.test(`${alg} at+jwt through discovery (no jwksUri)`, async (t) => {
    const before = {
      metadata: op.requestCount('/.well-known/oauth-authorization-server'),
      jwks: op.requestCount('/jwks'),
    }
    const token = await issue(resource)
    const verifier = verifierFor(t, { audience: resource })
    await verifier.ready()
    const { result, code } = await verifyWithReason(verifier, token)
    t.equal(code, undefined)
    t.same(mapped(result), {
      clientId: 'app-basic',
      scopes: ['mcp:read', 'mcp:write'],
      subject: 'app-basic',
      issuer: op.issuer,
      audience: [resource],
      expiresAt: decodeJwtPart(token, 1).exp,
    })
    // oidc-provider serves RFC 8414 metadata, which the verifier asks for first.
    t.equal(op.requestCount('/.well-known/oauth-authorization-server') - before.metadata, 1)
    t.equal(op.requestCount('/jwks') - before.jwks, 1)

    // Keys are cached: more tokens, no more requests.
    for (let i = 0; i < 3; i++) t.ok(await verifier.verifyToken(await issue(resource)))
    t.equal(op.requestCount('/jwks') - before.jwks, 1, 'the JWKS is not fetched again')
  })
}

t.test('concurrent verifications on a cold verifier make one JWKS request', async (t) => {
  const verifier = verifierFor(t, { audience: RESOURCES.rs256, jwksUri: op.jwksUri })
  const tokens = await Promise.all(Array.from({ length: 5 }, () => issue(RESOURCES.rs256)))
  const before = op.requestCount('/jwks')
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => verifier.verifyToken(tokens[i % tokens.length] ?? '')),
  )
  t.ok(results.every((result) => result?.clientId === 'app-basic'))
  t.equal(op.requestCount('/jwks') - before, 1)
})

t.test(
  'an issuer with a path: RFC 8414 metadata missing, OpenID Connect Discovery used',
  async (t) => {
    const mounted = await startOidcProvider({ path: '/tenant-a' })
    t.teardown(() => mounted.close())
    t.equal(new URL(mounted.issuer).pathname, '/tenant-a')
    const rfc8414 = new URL('/.well-known/oauth-authorization-server/tenant-a', mounted.issuer)
    t.equal((await fetch(rfc8414)).status, 404, 'oidc-provider does not serve RFC 8414 §3.1 here')

    const verifier = verifierFor(t, { issuer: mounted.issuer, audience: RESOURCES.es256 })
    const { access_token } = await mounted.issueToken(mounted.clients.basic, {
      resource: RESOURCES.es256,
    })
    t.equal(decodeJwtPart(access_token, 1).iss, mounted.issuer)
    t.equal((await verifier.verifyToken(access_token))?.issuer, mounted.issuer)
    t.equal(mounted.requestCount('/.well-known/openid-configuration'), 1)
    t.equal(mounted.requestCount('/jwks'), 1)
    t.same(mounted.serverErrors, [])
  },
)

t.test('a token for another resource is refused as wrong_audience', async (t) => {
  const verifier = verifierFor(t, { audience: RESOURCES.rs256, jwksUri: op.jwksUri })
  const forOther = await issue(RESOURCES.otherJwt)
  t.equal(decodeJwtPart(forOther, 1).aud, RESOURCES.otherJwt)
  t.same(await verifyWithReason(verifier, forOther), { result: null, code: 'wrong_audience' })

  // Same signing key and issuer, other resource server: ES256 for es256 is not good for rs256.
  const es256 = await issue(RESOURCES.es256)
  t.same(await verifyWithReason(verifier, es256), { result: null, code: 'wrong_audience' })

  // The same verifier still accepts its own tokens: the refusals are about audience only.
  t.ok(await verifier.verifyToken(await issue(RESOURCES.rs256)))
})

t.test('tampered tokens are refused as bad_signature', async (t) => {
  for (const alg of ['RS256', 'ES256'] as const) {
    const resource = RESOURCE_OF[alg]
    const verifier = verifierFor(t, { audience: resource, jwksUri: op.jwksUri })
    const token = await issue(resource, 'mcp:read')
    const [header, , signature] = token.split('.') as [string, string, string]

    // Privilege escalation: the payload claims a scope the token was not granted.
    const claims = { ...decodeJwtPart(token, 1), scope: 'mcp:read mcp:admin' }
    const escalated = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`
    t.same(
      await verifyWithReason(verifier, escalated),
      { result: null, code: 'bad_signature' },
      alg,
    )

    // One flipped bit in the signature.
    const bytes = Buffer.from(signature, 'base64url')
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1
    const flipped = `${header}.${token.split('.')[1]}.${bytes.toString('base64url')}`
    t.same(await verifyWithReason(verifier, flipped), { result: null, code: 'bad_signature' }, alg)

    t.ok(await verifier.verifyToken(token), `${alg}: the untouched token still verifies`)
  }
})

t.test('the algorithm allow-list applies to real tokens', async (t) => {
  const verifier = verifierFor(t, {
    audience: RESOURCES.rs256,
    jwksUri: op.jwksUri,
    algorithms: ['ES256'],
  })
  t.same(await verifyWithReason(verifier, await issue(RESOURCES.rs256)), {
    result: null,
    code: 'algorithm_not_allowed',
  })
})

t.test('scopes are mapped from the scope claim; requiredScopes refuses missing ones', async (t) => {
  const verifier = verifierFor(t, { audience: RESOURCES.es256, jwksUri: op.jwksUri })
  const cases: [string, string[]][] = [
    ['mcp:read', ['mcp:read']],
    ['mcp:write mcp:read', ['mcp:write', 'mcp:read']],
    // oidc-provider drops scopes the resource server does not offer (RFC 8707 §2.2).
    ['mcp:read unknown:scope', ['mcp:read']],
  ]
  for (const [scope, scopes] of cases) {
    const result = await verifier.verifyToken(await issue(RESOURCES.es256, scope))
    t.same(result?.scopes, scopes, scope)
  }

  const strict = verifierFor(t, {
    audience: RESOURCES.es256,
    jwksUri: op.jwksUri,
    requiredScopes: ['mcp:write'],
  })
  t.same(await verifyWithReason(strict, await issue(RESOURCES.es256, 'mcp:read')), {
    result: null,
    code: 'insufficient_scope',
  })
  t.ok(await strict.verifyToken(await issue(RESOURCES.es256, 'mcp:read mcp:write')))
})

t.test('clientId is the client_id of whichever client authenticated', async (t) => {
  const verifier = verifierFor(t, { audience: RESOURCES.rs256, jwksUri: op.jwksUri })
  const clients: InteropClient[] = [op.clients.basic, op.clients.post, op.clients.privateKeyJwt]
  for (const client of clients) {
    const result = await verifier.verifyToken(await issue(RESOURCES.rs256, 'mcp:read', client))
    t.equal(result?.clientId, client.clientId, client.authMethod)
    t.equal(result?.claims.client_id, client.clientId)
  }
})

t.test('an opaque token from the same server is not a JWT', async (t) => {
  const verifier = verifierFor(t, { audience: RESOURCES.opaque, jwksUri: op.jwksUri })
  const opaque = await issue(RESOURCES.opaque)
  t.same(await verifyWithReason(verifier, opaque), { result: null, code: 'malformed' })
})

t.test('a wrong issuer is refused even with the right keys', async (t) => {
  const verifier = createJwtVerifier({
    issuer: `${op.issuer}/`,
    audience: RESOURCES.rs256,
    jwksUri: op.jwksUri,
  })
  t.teardown(() => verifier.close())
  t.same(await verifyWithReason(verifier, await issue(RESOURCES.rs256)), {
    result: null,
    code: 'wrong_issuer',
  })
})

t.test('two real issuers, each bound to its own keys', async (t) => {
  const other = await startOidcProvider({ ownKeys: true })
  t.teardown(() => other.close())
  const fromOther = (await other.issueToken(other.clients.basic, { resource: RESOURCES.rs256 }))
    .access_token
  const fromOp = await issue(RESOURCES.rs256)
  t.equal(decodeJwtPart(fromOther, 0).alg, 'RS256')
  t.not(decodeJwtPart(fromOther, 0).kid, decodeJwtPart(fromOp, 0).kid, 'different keys')

  const both = createJwtVerifier({
    issuers: [{ issuer: op.issuer, jwksUri: op.jwksUri }, { issuer: other.issuer }],
    audience: RESOURCES.rs256,
  })
  t.teardown(() => both.close())
  t.equal((await both.verifyToken(fromOp))?.issuer, op.issuer)
  t.equal((await both.verifyToken(fromOther))?.issuer, other.issuer)

  // Trusting only op: the other issuer's token is refused by its iss.
  const onlyOp = verifierFor(t, { audience: RESOURCES.rs256, jwksUri: op.jwksUri })
  t.same(await verifyWithReason(onlyOp, fromOther), { result: null, code: 'wrong_issuer' })

  // op's issuer bound to the other server's keys: op's own token no longer verifies.
  const crossed = verifierFor(t, { audience: RESOURCES.rs256, jwksUri: other.jwksUri })
  t.same(await verifyWithReason(crossed, fromOp), { result: null, code: 'unknown_key' })
  t.same(other.serverErrors, [])
})

t.test('key rotation: the authorization server restarts with new keys', async (t) => {
  const before = await startOidcProvider()
  const port = Number(new URL(before.issuer).port)
  let clock = Date.now()
  const verifier = createJwtVerifier({
    issuer: before.issuer,
    audience: RESOURCES.es256,
    jwksUri: before.jwksUri,
    jwks: { cooldown: 30 },
    now: () => clock,
  })
  t.teardown(() => verifier.close())
  const old = (await before.issueToken(before.clients.basic, { resource: RESOURCES.es256 }))
    .access_token
  t.ok(await verifier.verifyToken(old))
  await before.close()

  const after = await startOidcProvider({ ownKeys: true, port })
  t.teardown(() => after.close())
  t.equal(after.issuer, before.issuer, 'the same issuer')
  const rotated = (await after.issueToken(after.clients.basic, { resource: RESOURCES.es256 }))
    .access_token
  t.not(decodeJwtPart(rotated, 0).kid, decodeJwtPart(old, 0).kid)

  // Past the cooldown, the unknown kid makes the verifier fetch the set again.
  clock += 31_000
  t.match(await verifier.verifyToken(rotated), { issuer: after.issuer })
  t.equal(after.requestCount('/jwks'), 1)
  // The old key is gone from the set now in use.
  t.same(await verifyWithReason(verifier, old), { result: null, code: 'unknown_key' })
  t.same(after.serverErrors, [])
})

t.test('the provider reported no server errors', async (t) => {
  t.same(op.serverErrors, [])
})
