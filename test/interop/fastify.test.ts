// @bearerkit/fastify end to end with tokens oidc-provider issued: JWT access tokens through
// @bearerkit/jwt, opaque ones through @bearerkit/introspection, RFC 6750 answers and the RFC 9728
// metadata that leads a client to oidc-provider.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import {
  createCompositeVerifier,
  parseChallenge,
  type TokenVerifier,
  type VerifierConfig,
} from '@bearerkit/core'
import { bearerAuth } from '@bearerkit/fastify'
import { createIntrospectionVerifier } from '@bearerkit/introspection'
import { createJwtVerifier } from '@bearerkit/jwt'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { loopbackOnly } from './fixtures/network.js'
import { RESOURCES, SCOPES, startOidcProvider } from './fixtures/oidc-provider.js'

loopbackOnly(t)
const op = await startOidcProvider()
t.teardown(() => op.close())

const RESOURCE = RESOURCES.rs256
const METADATA_PATH = '/.well-known/oauth-protected-resource/mcp'
const METADATA_URL = `https://rs256.interop.test${METADATA_PATH}`
const RM = `resource_metadata="${METADATA_URL}"`

/** An MCP-shaped resource server for `resource`, protected by `verifier`. */
async function buildApp(
  t: Test,
  verifier: TokenVerifier | VerifierConfig,
  resource: string = RESOURCE,
) {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(bearerAuth, {
    verifier,
    resource: { url: resource, authorizationServers: [op.issuer], scopesSupported: SCOPES },
    requiredScopes: ['mcp:read'],
  })
  app.get('/mcp', async (request) => {
    const token = request.accessToken
    return {
      clientId: token?.clientId,
      scopes: token?.scopes,
      issuer: token?.issuer,
      audience: token?.audience,
      principal: request.principal,
    }
  })
  app.post('/mcp/admin', { config: { bearer: { scopes: ['mcp:admin'] } } }, async () => ({
    ok: true,
  }))
  await app.ready()
  return app
}

function jwtVerifier(t: Test) {
  const verifier = createJwtVerifier({ issuer: op.issuer, audience: RESOURCE, jwksUri: op.jwksUri })
  t.teardown(() => verifier.close())
  return verifier
}

async function issue(resource: string, scope: string) {
  const { access_token } = await op.issueToken(op.clients.basic, { resource, scope })
  return access_token
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

t.test('200 with a token oidc-provider issued for this resource', async (t) => {
  const app = await buildApp(t, jwtVerifier(t))
  const res = await app.inject({ url: '/mcp', headers: bearer(await issue(RESOURCE, 'mcp:read')) })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['www-authenticate'], undefined)
  t.same(res.json(), {
    clientId: 'app-basic',
    scopes: ['mcp:read'],
    issuer: op.issuer,
    audience: [RESOURCE],
    // oidc-provider sets sub to the client id for client credentials tokens.
    principal: ['app-basic', op.issuer, 'app-basic'],
  })
})

t.test('401 invalid_token with a token for another resource', async (t) => {
  const app = await buildApp(t, jwtVerifier(t))
  const res = await app.inject({
    url: '/mcp',
    headers: bearer(await issue(RESOURCES.otherJwt, 'mcp:read mcp:admin')),
  })
  t.equal(res.statusCode, 401)
  t.equal(
    res.headers['www-authenticate'],
    'Bearer error="invalid_token", error_description="The access token is not meant for this resource", ' +
      `scope="mcp:read", ${RM}`,
  )
  t.same(res.json(), {
    error: 'invalid_token',
    error_description: 'The access token is not meant for this resource',
  })
})

t.test('401 invalid_token with a tampered token', async (t) => {
  const app = await buildApp(t, jwtVerifier(t))
  const token = await issue(RESOURCE, 'mcp:read')
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as object
  const escalated = Buffer.from(JSON.stringify({ ...claims, scope: 'mcp:read mcp:admin' }))
  const res = await app.inject({
    method: 'POST',
    url: '/mcp/admin',
    headers: bearer(`${header}.${escalated.toString('base64url')}.${signature}`),
  })
  t.equal(res.statusCode, 401)
  t.equal(
    parseChallenge(res.headers['www-authenticate'] as string)[0]?.params.error,
    'invalid_token',
  )
})

t.test('403 insufficient_scope for a scope the token was not granted', async (t) => {
  const app = await buildApp(t, jwtVerifier(t))
  const token = await issue(RESOURCE, 'mcp:read mcp:write')
  const res = await app.inject({ method: 'POST', url: '/mcp/admin', headers: bearer(token) })
  t.equal(res.statusCode, 403)
  t.equal(
    res.headers['www-authenticate'],
    'Bearer error="insufficient_scope", error_description="The access token lacks a required scope", ' +
      `scope="mcp:read mcp:admin", ${RM}`,
  )

  // Stepping up at oidc-provider with the scope the challenge names gets through.
  const scope = parseChallenge(res.headers['www-authenticate'] as string)[0]?.params.scope ?? ''
  const stepped = await issue(RESOURCE, scope)
  const ok = await app.inject({ method: 'POST', url: '/mcp/admin', headers: bearer(stepped) })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { ok: true })
})

t.test(
  'the metadata route lists oidc-provider, and a client can follow it to a token',
  async (t) => {
    const app = await buildApp(t, jwtVerifier(t))

    // A client without credentials learns where the metadata is from the challenge (RFC 9728 §5.1).
    const challenge = await app.inject({ url: '/mcp' })
    t.equal(challenge.statusCode, 401)
    const params = parseChallenge(challenge.headers['www-authenticate'] as string)[0]?.params
    t.equal(params?.resource_metadata, METADATA_URL)

    const res = await app.inject({ url: new URL(METADATA_URL).pathname })
    t.equal(res.statusCode, 200)
    const metadata = res.json<{ resource: string; authorization_servers: string[] }>()
    t.same(metadata, {
      resource: RESOURCE,
      authorization_servers: [op.issuer],
      scopes_supported: SCOPES,
      bearer_methods_supported: ['header'],
    })

    // ... then oidc-provider's own metadata (RFC 8414), then a token for the advertised resource.
    const [issuer] = metadata.authorization_servers
    const asMetadata = (await (
      await fetch(`${issuer}/.well-known/oauth-authorization-server`)
    ).json()) as { issuer: string; token_endpoint: string }
    t.equal(asMetadata.issuer, op.issuer)
    t.equal(asMetadata.token_endpoint, op.tokenEndpoint)
    const token = await issue(metadata.resource, 'mcp:read')
    t.equal((await app.inject({ url: '/mcp', headers: bearer(token) })).statusCode, 200)
  },
)

t.test('ES256 through a verifier configuration object and discovery', async (t) => {
  const app = await buildApp(
    t,
    { type: 'jwt', issuer: op.issuer, audience: RESOURCES.es256 },
    RESOURCES.es256,
  )
  const good = await app.inject({
    url: '/mcp',
    headers: bearer(await issue(RESOURCES.es256, 'mcp:read')),
  })
  t.equal(good.statusCode, 200)
  t.equal(good.json<{ clientId: string }>().clientId, 'app-basic')
  const rs256 = await app.inject({
    url: '/mcp',
    headers: bearer(await issue(RESOURCE, 'mcp:read')),
  })
  t.equal(rs256.statusCode, 401, 'a token for the RS256 resource is not good here')
})

t.test('opaque tokens through introspection: 200, then 401 once revoked', async (t) => {
  const verifier = createIntrospectionVerifier({
    issuer: op.issuer,
    audience: RESOURCES.opaque,
    clientId: op.clients.resourceServer.clientId,
    clientSecret: op.clients.resourceServer.clientSecret,
    cache: false,
  })
  t.teardown(() => verifier.close())
  const app = await buildApp(t, verifier, RESOURCES.opaque)
  const token = await issue(RESOURCES.opaque, 'mcp:read')
  t.equal((await app.inject({ url: '/mcp', headers: bearer(token) })).statusCode, 200)

  await op.revoke(op.clients.basic, token)
  const res = await app.inject({ url: '/mcp', headers: bearer(token) })
  t.equal(res.statusCode, 401)
  t.equal(
    parseChallenge(res.headers['www-authenticate'] as string)[0]?.params.error,
    'invalid_token',
  )
})

t.test(
  'one resource server for both formats: JWTs verified locally, opaque introspected',
  async (t) => {
    // oidc-provider chooses the format per resource indicator, so the two kinds of token name
    // two audiences; both are this resource server's.
    const jwt = createJwtVerifier({
      issuer: op.issuer,
      audience: [RESOURCE, RESOURCES.opaque],
      jwksUri: op.jwksUri,
    })
    const introspection = createIntrospectionVerifier({
      issuer: op.issuer,
      audience: [RESOURCE, RESOURCES.opaque],
      clientId: op.clients.resourceServer.clientId,
      clientSecret: op.clients.resourceServer.clientSecret,
    })
    t.teardown(async () => {
      jwt.close()
      await introspection.close()
    })
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    await app.register(bearerAuth, {
      verifier: createCompositeVerifier({ issuers: { [op.issuer]: jwt }, opaque: introspection }),
      resource: { url: RESOURCE, authorizationServers: [op.issuer] },
      audience: [RESOURCE, RESOURCES.opaque],
    })
    app.get('/mcp', async (request) => ({ claims: Object.keys(request.accessToken?.claims ?? {}) }))

    const before = op.requestCount('/token/introspection')
    const fromJwt = await app.inject({
      url: '/mcp',
      headers: bearer(await issue(RESOURCE, 'mcp:read')),
    })
    t.equal(fromJwt.statusCode, 200)
    t.ok(fromJwt.json<{ claims: string[] }>().claims.includes('jti'), 'JWT claims')
    t.equal(op.requestCount('/token/introspection') - before, 0, 'a JWT is never introspected')

    const opaque = await issue(RESOURCES.opaque, 'mcp:read')
    const fromOpaque = await app.inject({ url: '/mcp', headers: bearer(opaque) })
    t.equal(fromOpaque.statusCode, 200)
    t.ok(fromOpaque.json<{ claims: string[] }>().claims.includes('active'), 'introspection answer')
    t.equal(op.requestCount('/token/introspection') - before, 1)

    // A JWT from an issuer nobody configured has no route: refused without any request.
    const other = await startOidcProvider()
    t.teardown(() => other.close())
    const foreign = await other.issueToken(other.clients.basic, { resource: RESOURCE })
    const res = await app.inject({ url: '/mcp', headers: bearer(foreign.access_token) })
    t.equal(res.statusCode, 401)
    t.equal(op.requestCount('/token/introspection') - before, 1)
    t.equal(other.requestCount('/jwks'), 0)
  },
)

t.test('503 with Retry-After when oidc-provider refuses the introspection client', async (t) => {
  const verifier = createIntrospectionVerifier({
    issuer: op.issuer,
    audience: RESOURCES.opaque,
    clientId: op.clients.resourceServer.clientId,
    clientSecret: 'not-the-secret',
  })
  t.teardown(() => verifier.close())
  const app = await buildApp(t, verifier, RESOURCES.opaque)
  const res = await app.inject({
    url: '/mcp',
    headers: bearer(await issue(RESOURCES.opaque, 'mcp:read')),
  })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '5')
})

t.test(
  'an introspection answer that is not JSON is a 503 whose logs quote none of it',
  async (t) => {
    // A token-looking string where V8's SyntaxError quotes the body around the fault; Fastify's
    // error handler logs a 503 with its cause chain.
    const secret = 'zQ9xSecretTokenValue.c2VjcmV0.c2ln'
    const pieces = Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8))
    const garbage = createServer((request, response) => {
      request.resume()
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json' }).end(secret)
      })
    })
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve))
    t.teardown(() => new Promise<void>((resolve) => garbage.close(() => resolve())))
    const { port } = garbage.address() as AddressInfo
    const verifier = createIntrospectionVerifier({
      introspectionUrl: `http://127.0.0.1:${port}/introspect`,
      issuer: op.issuer,
      audience: RESOURCES.opaque,
      clientId: 'rs',
      clientSecret: 'rs-secret',
      retries: 0,
    })
    t.teardown(() => verifier.close())
    const lines: string[] = []
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'))
        done()
      },
    })
    const app = Fastify({ logger: { level: 'trace', stream } })
    t.teardown(() => app.close())
    await app.register(bearerAuth, {
      verifier,
      resource: { url: RESOURCES.opaque, authorizationServers: [op.issuer] },
    })
    app.get('/mcp', async () => ({ ok: true }))
    const res = await app.inject({ url: '/mcp', headers: bearer('opaque-token-value') })
    t.equal(res.statusCode, 503)
    const log = lines.join('')
    t.match(log, /invalid_json/, 'the 503 was logged, with its reason')
    t.same(
      pieces.filter((piece) => log.includes(piece) || res.body.includes(piece)),
      [],
    )
  },
)

t.test('the provider reported no server errors', async (t) => {
  t.same(op.serverErrors, [])
})
