// @bearerkit/introspection against oidc-provider: opaque access tokens it issued through the
// client credentials grant with an RFC 8707 resource, introspected (RFC 7662, and RFC 9701 signed
// answers) with every client authentication method both sides support, and revoked (RFC 7009).
import { generateKeyPairSync } from 'node:crypto'
import type { AccessToken } from '@bearerkit/core'
import {
  createIntrospectionVerifier,
  type IntrospectionVerifierOptions,
} from '@bearerkit/introspection'
import t, { type Test } from 'tap'
import { mapped, verifyWithReason } from './fixtures/access-token.js'
import { loopbackOnly } from './fixtures/network.js'
import { RESOURCES, startOidcProvider, type InteropClient } from './fixtures/oidc-provider.js'

loopbackOnly(t)
const op = await startOidcProvider()
t.teardown(() => op.close())

const INTROSPECTION = '/token/introspection'

/** Options that make `client` the one introspecting, with its own authentication method. */
function as(client: InteropClient): Partial<IntrospectionVerifierOptions> {
  return {
    clientId: client.clientId,
    clientAuthMethod: client.authMethod,
    ...(client.clientSecret === undefined ? {} : { clientSecret: client.clientSecret }),
    ...(client.privateKey === undefined ? {} : { privateKey: client.privateKey }),
  }
}

/** A verifier for RESOURCES.opaque, introspecting as the resource server's client by default. */
function verifierFor(
  t: Test,
  options: Partial<IntrospectionVerifierOptions> = {},
  client: InteropClient = op.clients.resourceServer,
) {
  const verifier = createIntrospectionVerifier({
    introspectionUrl: op.introspectionEndpoint,
    issuer: op.issuer,
    audience: RESOURCES.opaque,
    ...as(client),
    ...options,
  })
  t.teardown(() => verifier.close())
  return verifier
}

async function issue(resource: string = RESOURCES.opaque, scope = 'mcp:read mcp:write') {
  const { access_token } = await op.issueToken(op.clients.basic, { resource, scope })
  return access_token
}

/** What oidc-provider's answer for a token `issue()` made maps to (it sends no `sub` for it). */
function expectActive(t: Test, result: AccessToken | null, token: string) {
  t.equal(result?.token, token)
  t.same(mapped(result), {
    clientId: op.clients.basic.clientId,
    scopes: ['mcp:read', 'mcp:write'],
    issuer: op.issuer,
    audience: [RESOURCES.opaque],
    expiresAt: result?.claims.exp,
  })
  t.type(result?.expiresAt, 'number')
}

t.test('an active opaque token, introspected with each client authentication method', async (t) => {
  // The resource server's own client (client_secret_basic, with a secret that only survives
  // RFC 6749 §2.3.1 form-encoding), then clients registered with the other methods.
  const introspectors: InteropClient[] = [
    op.clients.resourceServer,
    op.clients.post,
    op.clients.privateKeyJwt,
  ]
  for (const client of introspectors) {
    t.test(client.authMethod, async (t) => {
      const token = await issue()
      const before = op.requestCount(INTROSPECTION)
      const verifier = verifierFor(t, {}, client)
      const { result, code } = await verifyWithReason(verifier, token)
      t.equal(code, undefined)
      expectActive(t, result, token)
      t.equal(op.requestCount(INTROSPECTION) - before, 1)
    })
  }
})

t.test('private_key_jwt: every request carries a fresh assertion', async (t) => {
  // oidc-provider refuses a client assertion whose jti it has seen (RFC 7523 §3), so repeated
  // introspections only succeed if each one signs a new assertion.
  const verifier = verifierFor(t, { cache: false }, op.clients.privateKeyJwt)
  const before = op.requestCount(INTROSPECTION)
  for (let i = 0; i < 3; i++) {
    const token = await issue()
    expectActive(t, await verifier.verifyToken(token), token)
  }
  t.equal(op.requestCount(INTROSPECTION) - before, 3)
})

t.test('client authentication none: oidc-provider tells a public client nothing', async (t) => {
  // The fixture's policy (RFC 7662 §4) lets a public client introspect only its own tokens, and
  // the answer to anything else is active: false, which the verifier must take as a refusal.
  const token = await issue()
  const before = op.requestCount(INTROSPECTION)
  const verifier = verifierFor(t, {}, op.clients.public)
  t.same(await verifyWithReason(verifier, token), { result: null, code: 'inactive' })
  t.equal(op.requestCount(INTROSPECTION) - before, 1, 'the request was made and answered')
})

t.test('the endpoint discovered from the issuer alone', async (t) => {
  const verifier = createIntrospectionVerifier({
    issuer: op.issuer,
    audience: RESOURCES.opaque,
    ...as(op.clients.resourceServer),
  })
  t.teardown(() => verifier.close())
  const token = await issue()
  const before = op.requestCount('/.well-known/oauth-authorization-server')
  await verifier.ready()
  t.equal(op.requestCount('/.well-known/oauth-authorization-server') - before, 1)
  const { result, code } = await verifyWithReason(verifier, token)
  t.equal(code, undefined)
  expectActive(t, result, token)
})

t.test('RFC 9701: a signed introspection answer, keys from the discovered JWKS', async (t) => {
  const verifier = verifierFor(t, { jwtResponse: true })
  const before = { jwks: op.requestCount('/jwks'), introspection: op.requestCount(INTROSPECTION) }
  const token = await issue()
  const { result, code } = await verifyWithReason(verifier, token)
  t.equal(code, undefined)
  expectActive(t, result, token)
  t.equal(op.requestCount('/jwks') - before.jwks, 1, 'keys fetched to check the signature')
  t.equal(op.requestCount(INTROSPECTION) - before.introspection, 1)

  // The resource server's client is registered for ES256 answers; the post client gets
  // oidc-provider's default, RS256, which a verifier that allows only ES256 must not take.
  const es256Only = { jwtResponse: { algorithms: ['ES256'] } }
  t.ok(await verifierFor(t, es256Only).verifyToken(await issue()), 'ES256 answer accepted')
  const rs256 = verifierFor(t, es256Only, op.clients.post)
  await t.rejects(rs256.verifyToken(await issue()), { code: 'ERR_VERIFIER_UNAVAILABLE' })
})

t.test('a token for another resource is refused as wrong_audience', async (t) => {
  const verifier = verifierFor(t)
  const forOther = await issue(RESOURCES.otherOpaque)
  t.same(await verifyWithReason(verifier, forOther), { result: null, code: 'wrong_audience' })
  // Checked on every use, not baked into the cache: still refused when answered from it.
  const before = op.requestCount(INTROSPECTION)
  t.same(await verifyWithReason(verifier, forOther), { result: null, code: 'wrong_audience' })
  t.equal(op.requestCount(INTROSPECTION) - before, 0, 'the second answer came from the cache')
})

t.test('a token without any resource has no audience and is refused', async (t) => {
  const verifier = verifierFor(t)
  const { access_token } = await op.issueToken(op.clients.basic)
  t.same(await verifyWithReason(verifier, access_token), { result: null, code: 'missing_claim' })
})

t.test('requiredScopes: a token without the scope is insufficient_scope', async (t) => {
  const verifier = verifierFor(t, { requiredScopes: ['mcp:admin'] })
  t.same(await verifyWithReason(verifier, await issue(RESOURCES.opaque, 'mcp:read')), {
    result: null,
    code: 'insufficient_scope',
  })
  const admin = await verifier.verifyToken(await issue(RESOURCES.opaque, 'mcp:read mcp:admin'))
  t.same(admin?.scopes, ['mcp:read', 'mcp:admin'])
})

t.test('a revoked token is refused once the cached answer is past its ttl', async (t) => {
  let clock = Date.now()
  const verifier = verifierFor(t, { cache: { ttl: 30, negativeTtl: 0 }, now: () => clock })
  const token = await issue()
  const before = op.requestCount(INTROSPECTION)
  expectActive(t, await verifier.verifyToken(token), token)

  await op.revoke(op.clients.basic, token)

  // RFC 7662 §4: a cached answer may outlive a revocation, by at most the configured ttl.
  clock += 29_000
  expectActive(t, await verifier.verifyToken(token), token)
  t.equal(op.requestCount(INTROSPECTION) - before, 1, 'answered from the cache')

  clock += 2_000
  t.same(await verifyWithReason(verifier, token), { result: null, code: 'inactive' })
  t.equal(op.requestCount(INTROSPECTION) - before, 2, 'asked the server again')
})

t.test('without a cache a revoked token is refused at once', async (t) => {
  const verifier = verifierFor(t, { cache: false })
  const token = await issue()
  expectActive(t, await verifier.verifyToken(token), token)
  await op.revoke(op.clients.basic, token)
  t.same(await verifyWithReason(verifier, token), { result: null, code: 'inactive' })
})

t.test('a token oidc-provider never issued is inactive', async (t) => {
  const verifier = verifierFor(t)
  const token = await issue()
  const forged = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`
  t.same(await verifyWithReason(verifier, forged), { result: null, code: 'inactive' })
})

t.test('concurrent first uses of one token make one introspection request', async (t) => {
  const verifier = verifierFor(t)
  const token = await issue()
  const before = op.requestCount(INTROSPECTION)
  const results = await Promise.all(Array.from({ length: 50 }, () => verifier.verifyToken(token)))
  t.ok(results.every((result) => result?.clientId === op.clients.basic.clientId))
  t.equal(op.requestCount(INTROSPECTION) - before, 1)
})

t.test('a cached answer dies at the token exp, even with a longer ttl', async (t) => {
  const short = await startOidcProvider({
    resourceServers: [{ resource: RESOURCES.opaque, scope: 'mcp:read', format: 'opaque', ttl: 20 }],
  })
  t.teardown(() => short.close())
  let clock = Date.now()
  const verifier = createIntrospectionVerifier({
    introspectionUrl: short.introspectionEndpoint,
    issuer: short.issuer,
    audience: RESOURCES.opaque,
    ...as(short.clients.resourceServer),
    cache: { ttl: 300 },
    now: () => clock,
  })
  t.teardown(() => verifier.close())
  const { access_token: token, expires_in } = await short.issueToken(short.clients.basic, {
    resource: RESOURCES.opaque,
    scope: 'mcp:read',
  })
  t.equal(expires_in, 20)
  const accepted = await verifier.verifyToken(token)
  t.ok(accepted)

  clock = (accepted?.expiresAt ?? 0) * 1000 - 1000
  t.ok(await verifier.verifyToken(token), 'still good a second before exp')
  t.equal(short.requestCount(INTROSPECTION), 1, 'from the cache')

  // Past exp by this verifier's clock. The server's own clock has not moved, so it would still
  // say active; the verifier must not take that either.
  clock += 2000
  t.same(await verifyWithReason(verifier, token), { result: null, code: 'expired' })
})

t.test('an issuer that differs from the answer iss is refused', async (t) => {
  const verifier = verifierFor(t, { issuer: `${op.issuer}/` })
  t.same(await verifyWithReason(verifier, await issue()), { result: null, code: 'wrong_issuer' })
})

t.test('a DPoP-bound token presented as a bearer token is refused', async (t) => {
  // RFC 9449: oidc-provider binds the token to the proof key (token_type DPoP, cnf.jkt); called
  // without the request's proof context, this verifier must not accept the token on its own
  // (dpop.test.ts accepts it with the proof).
  const verifier = verifierFor(t)
  const dpop = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  const bound = await op.issueToken(op.clients.basic, { resource: RESOURCES.opaque, dpop })
  t.equal(bound.token_type, 'DPoP')
  t.same(await verifyWithReason(verifier, bound.access_token), {
    result: null,
    code: 'sender_constrained',
  })
})

t.test('bad client credentials make the verifier unavailable, never a refusal', async (t) => {
  // oidc-provider answers 401 invalid_client: nothing is known about the token.
  const cases: [Partial<IntrospectionVerifierOptions>, InteropClient][] = [
    [{ clientSecret: 'wrong' }, op.clients.resourceServer],
    [{ clientId: 'no-such-client' }, op.clients.resourceServer],
    [
      { privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey },
      op.clients.privateKeyJwt,
    ],
  ]
  for (const [options, client] of cases) {
    const verifier = verifierFor(t, options, client)
    await t.rejects(verifier.verifyToken(await issue()), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'status',
    })
  }
})

t.test('JWT-shaped tokens sent to introspection are never accepted', async (t) => {
  // oidc-provider refuses to introspect anything that parses as a JWS with 400
  // unsupported_token_type, where RFC 7662 §2.2 asks for active: false. The verifier reads that
  // answer as inactive, so such a token is refused (401), never a 503 and never accepted.
  const verifier = verifierFor(t, { audience: RESOURCES.rs256 })
  const { access_token } = await op.issueToken(op.clients.basic, { resource: RESOURCES.rs256 })
  // A real at+jwt of this server, and what any client can type: an unsigned JWS.
  for (const token of [access_token, 'eyJhbGciOiJub25lIn0.e30.']) {
    t.same(await verifyWithReason(verifier, token), { result: null, code: 'inactive' })
  }
})

t.test('the provider reported no server errors', async (t) => {
  t.same(op.serverErrors, [])
})
