// Verifiers swapped through configuration (BEARERKIT_* environment variables, read by core's
// verifierConfigFromEnv and built by createVerifier), pointed at oidc-provider as a deployment
// would point them at its authorization server.
import { createVerifier, verifierConfigFromEnv, type TokenVerifier } from '@bearerkit/core'
import t, { type Test } from 'tap'
import { mapped, verifyWithReason } from './fixtures/access-token.js'
import { loopbackOnly } from './fixtures/network.js'
import { RESOURCES, startOidcProvider } from './fixtures/oidc-provider.js'

loopbackOnly(t)
const op = await startOidcProvider()
t.teardown(() => op.close())

async function fromEnv(t: Test, env: Record<string, string>): Promise<TokenVerifier> {
  const config = verifierConfigFromEnv(env)
  if (config === null) throw new Error('BEARERKIT_VERIFIER is not set')
  const verifier = await createVerifier(config)
  t.teardown(async () => {
    await (verifier as TokenVerifier & { close?: () => unknown }).close?.()
  })
  return verifier
}

t.test('BEARERKIT_VERIFIER=jwt with discovery from BEARERKIT_ISSUER', async (t) => {
  const verifier = await fromEnv(t, {
    BEARERKIT_VERIFIER: 'jwt',
    BEARERKIT_ISSUER: op.issuer,
    BEARERKIT_AUDIENCE: RESOURCES.es256,
    BEARERKIT_REQUIRED_SCOPES: 'mcp:read',
    BEARERKIT_ALGORITHMS: 'ES256',
  })
  const good = await op.issueToken(op.clients.post, {
    resource: RESOURCES.es256,
    scope: 'mcp:read',
  })
  const accepted = await verifier.verifyToken(good.access_token)
  t.same(mapped(accepted), {
    clientId: 'app-post',
    scopes: ['mcp:read'],
    subject: 'app-post',
    issuer: op.issuer,
    audience: [RESOURCES.es256],
    expiresAt: accepted?.claims.exp,
  })

  const noScope = await op.issueToken(op.clients.post, {
    resource: RESOURCES.es256,
    scope: 'mcp:write',
  })
  t.same(await verifyWithReason(verifier, noScope.access_token), {
    result: null,
    code: 'insufficient_scope',
  })
  const rs256 = await op.issueToken(op.clients.post, { resource: RESOURCES.rs256 })
  t.same(await verifyWithReason(verifier, rs256.access_token), {
    result: null,
    code: 'algorithm_not_allowed',
  })
})

t.test('BEARERKIT_VERIFIER=introspection with client_secret_post', async (t) => {
  const verifier = await fromEnv(t, {
    BEARERKIT_VERIFIER: 'introspection',
    BEARERKIT_ISSUER: op.issuer,
    BEARERKIT_INTROSPECTION_URL: op.introspectionEndpoint,
    BEARERKIT_AUDIENCE: RESOURCES.opaque,
    BEARERKIT_CLIENT_ID: op.clients.post.clientId,
    BEARERKIT_CLIENT_SECRET: op.clients.post.clientSecret ?? '',
    BEARERKIT_CLIENT_AUTH_METHOD: 'client_secret_post',
    BEARERKIT_CACHE: 'off',
  })
  const { access_token } = await op.issueToken(op.clients.basic, {
    resource: RESOURCES.opaque,
    scope: 'mcp:read',
  })
  const accepted = await verifier.verifyToken(access_token)
  t.same(mapped(accepted), {
    clientId: 'app-basic',
    scopes: ['mcp:read'],
    issuer: op.issuer,
    audience: [RESOURCES.opaque],
    expiresAt: accepted?.claims.exp,
  })
  await op.revoke(op.clients.basic, access_token)
  t.same(await verifyWithReason(verifier, access_token), { result: null, code: 'inactive' })
})

t.test('the provider reported no server errors', async (t) => {
  t.same(op.serverErrors, [])
})
