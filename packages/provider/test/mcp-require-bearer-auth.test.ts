// The MCP TypeScript SDK's own requireBearerAuth (Express) on a real server on 127.0.0.1, with a
// bearerkit JWT verifier behind it through toMcpTokenVerifier.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import { parseChallenge } from '@bearerkit/core'
import { createJwtVerifier } from '@bearerkit/jwt'
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js'
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js'
import { toMcpTokenVerifier } from '../src/index.js'

// Express (a devDependency here, and a dependency of the SDK) ships without types. The few members
// used here are declared locally, and the import specifier is not a literal so that the type
// checker does not look for declarations.
interface Request {
  auth?: AuthInfo
}
interface Response {
  json(body: unknown): void
}
interface ExpressApp {
  get(path: string, ...handlers: unknown[]): void
  listen(port: number, host: string, callback: () => void): Server
}
const EXPRESS = 'express'
const { default: express } = (await import(EXPRESS)) as { default: () => ExpressApp }

const ISSUER = 'https://as.example.com'
const RESOURCE = 'https://mcp.example.com/mcp'
const METADATA = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp'

const { privateKey, publicKey } = await generateKeyPair('ES256')
const other = await generateKeyPair('ES256')
const publicJwk: JWK = { ...(await exportJWK(publicKey)), alg: 'ES256', kid: 'k1', use: 'sig' }

async function mint(
  claims: Record<string, unknown> = {},
  key: CryptoKey = privateKey,
): Promise<string> {
  const seconds = Math.floor(Date.now() / 1000)
  return new SignJWT({
    iss: ISSUER,
    aud: RESOURCE,
    sub: 'alice',
    client_id: 'client-a',
    scope: 'mcp:tools mcp:read',
    iat: seconds,
    exp: seconds + 3600,
    jti: 'j1',
    resource: RESOURCE,
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
    .sign(key)
}

async function listen(app: ExpressApp): Promise<{ url: string; server: Server }> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({ url: `http://127.0.0.1:${port}`, server })
    })
  })
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}

const app = express()
const verifier = createJwtVerifier({ issuer: ISSUER, audience: RESOURCE, key: publicJwk })
app.get(
  '/mcp',
  requireBearerAuth({
    verifier: toMcpTokenVerifier(verifier),
    requiredScopes: ['mcp:tools'],
    resourceMetadataUrl: METADATA,
    expectedResource: new URL(RESOURCE),
  }),
  (req: Request, res: Response) => {
    const auth = req.auth
    res.json({
      clientId: auth?.clientId,
      scopes: auth?.scopes,
      resource: auth?.resource?.href,
      subject: auth?.extra?.subject,
      issuer: auth?.extra?.issuer,
    })
  },
)
const { url, server } = await listen(app)
t.teardown(() => close(server))

const get = (token?: string, path = '/mcp'): Promise<globalThis.Response> =>
  fetch(url + path, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })

t.test('a valid JWT passes the SDK middleware and reaches the handler', async (t) => {
  const response = await get(await mint())
  t.equal(response.status, 200)
  t.same(await response.json(), {
    clientId: 'client-a',
    scopes: ['mcp:tools', 'mcp:read'],
    resource: RESOURCE,
    subject: 'alice',
    issuer: ISSUER,
  })
})

async function refusedWith(
  t: Test,
  token: string,
  status: number,
  error: string,
  description: string,
): Promise<void> {
  const response = await get(token)
  t.equal(response.status, status)
  const challenge = parseChallenge(response.headers.get('www-authenticate') ?? '')[0]
  t.equal(challenge?.scheme, 'Bearer')
  t.equal(challenge?.params.error, error)
  t.equal(challenge?.params.error_description, description)
  t.equal(challenge?.params.scope, 'mcp:tools')
  t.equal(challenge?.params.resource_metadata, METADATA)
  const body = await response.text()
  t.same(JSON.parse(body), { error, error_description: description })
  // The token never comes back, in the body or a header.
  t.notOk(body.includes(token), 'no token in the body')
  t.notOk(
    [...response.headers.values()].some((v) => v.includes(token)),
    'no token in a header',
  )
}

t.test('refusals from the bearerkit verifier become 401 invalid_token', async (t) => {
  await refusedWith(
    t,
    await mint({}, other.privateKey),
    401,
    'invalid_token',
    'The token signature is invalid',
  )
  const expired = await get(await mint({ exp: Math.floor(Date.now() / 1000) - 3600 }))
  t.equal(expired.status, 401)
  t.equal(((await expired.json()) as { error: string }).error, 'invalid_token')
  const foreign = await get(await mint({ aud: 'https://other.example.com/mcp' }))
  t.equal(foreign.status, 401)
  t.equal(((await foreign.json()) as { error: string }).error, 'invalid_token')
  const garbage = await get('not-a-jwt')
  t.equal(garbage.status, 401)
  // A token for this audience whose RFC 8707 resource names another server: the SDK's own
  // expectedResource check refuses what toAuthInfo reports.
  const elsewhere = await get(await mint({ resource: 'https://other.example.com/mcp' }))
  t.equal(elsewhere.status, 401)
  t.equal(
    ((await elsewhere.json()) as { error_description: string }).error_description,
    'Token was not issued for this resource',
  )
})

t.test("the SDK's own checks still apply: no header 401, missing scope 403", async (t) => {
  const missing = await get()
  t.equal(missing.status, 401)
  t.equal(((await missing.json()) as { error: string }).error, 'invalid_token')
  await refusedWith(
    t,
    await mint({ scope: 'mcp:read' }),
    403,
    'insufficient_scope',
    'Insufficient scope',
  )
})

t.test('an unavailable verifier becomes 500 server_error (the SDK has no 503)', async (t) => {
  // A JWKS endpoint on loopback that is down (answers 503).
  const jwks = createServer((_req, res) => {
    res.writeHead(503, { 'content-type': 'text/plain' }).end('down')
  })
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve))
  t.teardown(() => close(jwks))
  const { port } = jwks.address() as AddressInfo
  const down = createJwtVerifier({
    issuer: ISSUER,
    audience: RESOURCE,
    jwksUri: `http://127.0.0.1:${port}/jwks.json`,
  })
  const app2 = express()
  app2.get('/mcp', requireBearerAuth({ verifier: toMcpTokenVerifier(down) }), () => {
    throw new Error('never reached')
  })
  const second = await listen(app2)
  t.teardown(() => close(second.server))
  const response = await fetch(`${second.url}/mcp`, {
    headers: { authorization: `Bearer ${await mint()}` },
  })
  t.equal(response.status, 500)
  t.equal(response.headers.get('www-authenticate'), null)
  t.equal(response.headers.get('retry-after'), null)
  t.same(await response.json(), {
    error: 'server_error',
    error_description: 'The token verifier is unavailable',
  })
})
