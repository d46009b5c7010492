// The interop fixture itself: what the other interop tests rely on oidc-provider to do, and the
// guards that keep the suite on the loopback interface and out of the test output.
import { get } from 'node:http'
import t from 'tap'
import { loopbackOnly } from './fixtures/network.js'
import { RESOURCES, startOidcProvider, type SigningAlg } from './fixtures/oidc-provider.js'

loopbackOnly(t)

t.test('starts, serves and closes without writing to the console', async (t) => {
  // t.capture replaces each method with a recorder until the end of this test.
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const
  const captured = methods.map((name) => t.capture(console, name, () => undefined))
  // The first start in this process also imports oidc-provider, which has notices of its own.
  const op = await startOidcProvider()
  await op.issueToken(op.clients.basic, { resource: RESOURCES.opaque })
  await op.issueToken(op.clients.privateKeyJwt, { resource: RESOURCES.es256 })
  await t.rejects(op.issueToken(op.clients.basic, { resource: 'https://unknown.interop.test/' }))
  await op.close()
  t.same(
    captured.flatMap((results) => results().map(({ args }): unknown[] => args)),
    [],
  )
})

t.test('metadata advertises what the suite relies on', async (t) => {
  const op = await startOidcProvider()
  t.teardown(() => op.close())
  t.match(op.issuer, /^http:\/\/127\.0\.0\.1:\d+$/)
  for (const path of [
    '/.well-known/oauth-authorization-server',
    '/.well-known/openid-configuration',
  ]) {
    const metadata = (await (await fetch(`${op.issuer}${path}`)).json()) as Record<string, unknown>
    t.match(
      metadata,
      {
        issuer: op.issuer,
        jwks_uri: op.jwksUri,
        token_endpoint: op.tokenEndpoint,
        introspection_endpoint: op.introspectionEndpoint,
        revocation_endpoint: op.revocationEndpoint,
      },
      path,
    )
    t.same(metadata.token_endpoint_auth_methods_supported, [
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
      'none',
    ])
    t.ok((metadata.grant_types_supported as string[]).includes('client_credentials'))
  }
  const jwks = (await (await fetch(op.jwksUri)).json()) as { keys: Record<string, unknown>[] }
  t.same(
    jwks.keys.map(({ kty, alg }) => [kty, alg]),
    [
      ['RSA', 'RS256'],
      ['EC', 'ES256'],
    ],
  )
  t.notOk(
    jwks.keys.some((key) => 'd' in key),
    'only public keys are published',
  )
})

t.test('tokens follow the resource server definitions', async (t) => {
  const op = await startOidcProvider({
    resourceServers: [
      {
        resource: 'https://short.interop.test/',
        scope: 'a b',
        format: 'jwt',
        alg: 'ES256',
        ttl: 42,
      },
      { resource: 'https://opaque.interop.test/', scope: 'a', format: 'opaque', ttl: 7 },
    ],
  })
  t.teardown(() => op.close())

  const jwt = await op.issueToken(op.clients.post, {
    resource: 'https://short.interop.test/',
    scope: 'a b c',
  })
  t.equal(jwt.expires_in, 42)
  t.equal(jwt.scope, 'a b', 'scopes the resource server does not offer are dropped')
  const [header, payload] = jwt.access_token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as object)
  t.match(header, { alg: 'ES256', typ: 'at+jwt', kid: /^ES256-/ })
  t.match(payload, {
    iss: op.issuer,
    aud: 'https://short.interop.test/',
    client_id: 'app-post',
    sub: 'app-post',
    scope: 'a b',
  })

  const opaque = await op.issueToken(op.clients.basic, { resource: 'https://opaque.interop.test/' })
  t.equal(opaque.expires_in, 7)
  t.equal(opaque.access_token.split('.').length, 1, 'opaque, not a JWT')

  await t.rejects(
    op.issueToken(op.clients.basic, { resource: RESOURCES.rs256 }),
    /400: .*"error":"invalid_target"/,
    'a resource it does not know is invalid_target (RFC 8707 §2)',
  )
})

t.test('a fault of the provider is recorded in serverErrors, not printed', async (t) => {
  const captured = t.capture(console, 'error', () => undefined)
  // PS256 is not an algorithm of the provider's keys: signing fails inside oidc-provider (500).
  const op = await startOidcProvider({
    resourceServers: [
      { resource: RESOURCES.rs256, scope: 'a', format: 'jwt', alg: 'PS256' as SigningAlg },
    ],
  })
  t.teardown(() => op.close())
  await t.rejects(
    op.issueToken(op.clients.basic, { resource: RESOURCES.rs256 }),
    /failed with 500: .*"error":"server_error"/,
  )
  t.equal(op.serverErrors.length, 1)
  t.match(op.serverErrors[0], { message: /no corresponding key/ })
  t.same(captured(), [])
})

t.test('requests are counted per path', async (t) => {
  const op = await startOidcProvider()
  t.teardown(() => op.close())
  t.equal(op.requestCount('/jwks'), 0)
  await fetch(op.jwksUri)
  await fetch(op.jwksUri)
  t.equal(op.requestCount('/jwks'), 2)
  t.equal(op.requestCount('/token'), 0)
})

t.test('close frees the port and ends kept-alive connections', async (t) => {
  const op = await startOidcProvider()
  // A kept-alive connection from fetch must not hold close() open.
  t.equal((await fetch(op.jwksUri)).status, 200)
  await op.close()
  const error = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
    get(op.jwksUri, () => reject(new Error('the server still answers'))).on('error', resolve)
  })
  t.equal(error.code, 'ECONNREFUSED')
})

t.test('nothing but loopback is reachable from the suite', async (t) => {
  await t.rejects(fetch('http://example.com/'), { name: 'NetConnectNotAllowedError' })
  await t.rejects(fetch('https://rs256.interop.test/mcp'), { name: 'NetConnectNotAllowedError' })
})
