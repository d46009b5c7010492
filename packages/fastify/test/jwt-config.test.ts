// The plugin with a real @bearerkit/jwt verifier described as configuration (createVerifier),
// configured loosely (audience: null) so that the plugin's own RFC 8707 check is what refuses a
// token of another resource.
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import t from 'tap'
import { bearerAuth } from '../src/index.js'
import { buildApp } from './fixtures/app.js'

const ISSUER = 'https://login.example.com/'
const RESOURCE = 'https://api.example.com/mcp'
const METADATA = 'https://api.example.com/.well-known/oauth-protected-resource/mcp'

t.test('a jwt verifier from configuration, loose on audience, behind the plugin', async (t) => {
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const jwk = await exportJWK(publicKey)
  const mint = (aud: string, expiresAt: number | string = '5m'): Promise<string> =>
    new SignJWT({ client_id: 'c1', scope: 'read' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setSubject('alice')
      .setAudience(aud)
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .setJti('j1')
      .sign(privateKey)

  const { app, logs } = buildApp(t)
  await app.register(bearerAuth, {
    verifier: { type: 'jwt', issuer: ISSUER, audience: null, key: jwk },
    resource: { url: RESOURCE, authorizationServers: [ISSUER] },
    requiredScopes: ['read'],
  })
  app.get('/mcp', async (request) => request.principal)

  const good = await mint(RESOURCE)
  const ok = await app.inject({ url: '/mcp', headers: { authorization: `Bearer ${good}` } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), ['c1', ISSUER, 'alice'])

  const foreign = await mint('https://other.example.com/mcp')
  const wrong = await app.inject({ url: '/mcp', headers: { authorization: `Bearer ${foreign}` } })
  t.equal(wrong.statusCode, 401, 'the verifier accepted it; the plugin did not')
  t.equal(
    wrong.headers['www-authenticate'],
    `Bearer error="invalid_token", error_description="The access token is not meant for this resource", scope="read", resource_metadata="${METADATA}"`,
  )

  const old = await mint(RESOURCE, Math.floor(Date.now() / 1000) - 3600)
  const expired = await app.inject({ url: '/mcp', headers: { authorization: `Bearer ${old}` } })
  t.equal(expired.statusCode, 401)
  t.match(
    expired.headers['www-authenticate'],
    /^Bearer error="invalid_token", error_description="[^"]+", scope="read", resource_metadata="/,
  )
  const reasons = logs
    .records()
    .map((r) => (r.bearer as { reason?: string } | undefined)?.reason)
    .filter((r) => r !== undefined)
  t.same(reasons, ['wrong_audience', 'expired'])
  for (const line of logs.lines) {
    for (const token of [good, foreign, old]) t.notOk(line.includes(token), 'no token in the log')
  }
})
