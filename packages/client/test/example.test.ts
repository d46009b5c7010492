// examples/mcp-client.ts end to end: the example MCP server (Fastify + bearerkit) on 127.0.0.1,
// with the local authorization server (client credentials) or oidc-provider (dynamic registration
// and the automated authorization code flow, with a step-up through a second authorization).
import { createServer } from 'node:net'
import { createJwtVerifier } from '@bearerkit/jwt'
import { createLocalAuthorizationServer } from '@bearerkit/testing'
import t, { type Test } from 'tap'
import { runMcpClient, sessionOptionsFromEnv } from '../../../examples/mcp-client.js'
import { ADMIN_SCOPE, TOOLS_SCOPE, createMcpApp } from '../../../examples/mcp-server.js'
import { startOp } from './fixtures/oidc-provider.js'
import { loopbackOnly } from './fixtures/server.js'

loopbackOnly(t)

async function mcpServer(t: Test, issuer: string): Promise<string> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as { port: number }
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const resource = `http://127.0.0.1:${port}/mcp`
  const verifier = createJwtVerifier({ issuer, audience: resource })
  const app = await createMcpApp({
    verifier,
    resourceUrl: resource,
    authorizationServers: [issuer],
  })
  await app.listen({ host: '127.0.0.1', port })
  t.teardown(async () => {
    // An MCP client's standalone SSE stream may still be open: it is not idle, so close() would
    // wait for it.
    app.server.closeAllConnections()
    await app.close()
    verifier.close()
  })
  return resource
}

t.test('client credentials from the environment', async (t) => {
  const as = await createLocalAuthorizationServer({
    quiet: true,
    clients: [
      { clientId: 'example', clientSecret: 'example-secret', scopes: [TOOLS_SCOPE, ADMIN_SCOPE] },
    ],
  })
  t.teardown(() => as.close())
  const url = await mcpServer(t, as.issuer)
  const env = { MCP_CLIENT_ID: 'example', MCP_CLIENT_SECRET: 'example-secret' }
  const run = await runMcpClient(url, env, 'reset_counter')
  t.same(run.tools.sort(), ['increment', 'reset_counter', 'whoami'])
  t.match(run.result, { content: [{ type: 'text', text: '0' }] })
  t.same([run.discovery, run.registration], ['www-authenticate', 'pre-registered'])
  t.equal(as.requestCount('token'), 2, 'one token, one step-up')
})

t.test(
  'the automated authorization code flow, with dynamic registration, at oidc-provider',
  async (t) => {
    const port = await (async () => {
      const probe = createServer()
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
      const { port } = probe.address() as { port: number }
      await new Promise<void>((resolve) => probe.close(() => resolve()))
      return port
    })()
    // The resource must be known before the provider starts (it issues tokens for it).
    const resource = `http://127.0.0.1:${port}/mcp`
    const op = await startOp(t, resource)
    const verifier = createJwtVerifier({ issuer: op.issuer, audience: resource })
    const app = await createMcpApp({
      verifier,
      resourceUrl: resource,
      authorizationServers: [op.issuer],
    })
    await app.listen({ host: '127.0.0.1', port })
    t.teardown(async () => {
      // An MCP client's standalone SSE stream may still be open: it is not idle, so close()
      // would wait for it.
      app.server.closeAllConnections()
      await app.close()
      verifier.close()
    })
    const run = await runMcpClient(
      resource,
      { MCP_CLIENT_GRANT: 'authorization_code' },
      'reset_counter',
    )
    t.match(run.result, { content: [{ type: 'text', text: '0' }] })
    t.same([run.discovery, run.registration], ['www-authenticate', 'dynamic'])
    t.equal(op.count('/reg'), 1, 'registered once')
    t.equal(op.count('/token'), 2, 'two codes redeemed: the first token, then the step-up')
    t.same(op.serverErrors, [])
  },
)

t.test('environment mistakes', async (t) => {
  t.throws(
    () => sessionOptionsFromEnv('http://127.0.0.1:1/mcp', { MCP_CLIENT_GRANT: 'password' }),
    /MCP_CLIENT_GRANT/,
  )
  t.match(
    sessionOptionsFromEnv('http://127.0.0.1:1/mcp', {
      MCP_CLIENT_ID: 'public',
      MCP_CLIENT_METADATA_URL: 'https://app.example.com/client.json',
      MCP_CLIENT_SCOPE: 'a',
    }),
    {
      client: { clientId: 'public' },
      clientMetadataUrl: 'https://app.example.com/client.json',
      scope: 'a',
    },
  )
})
