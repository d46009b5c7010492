// The MCP SDK's own Client, with this package's auth provider, against our stack: the example MCP
// server (Fastify + bearerkit) and the local authorization server of @bearerkit/testing, all on
// 127.0.0.1. The client starts with nothing but the server URL and client credentials.
import { createServer } from 'node:net'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { createJwtVerifier } from '@bearerkit/jwt'
import { createLocalAuthorizationServer } from '@bearerkit/testing'
import t, { type Test } from 'tap'
import { ADMIN_SCOPE, TOOLS_SCOPE, createMcpApp } from '../../../examples/mcp-server.js'
import { createMcpAuthProvider, createOAuthSession, type OAuthSession } from '../src/index.js'
import { loopbackOnly } from './fixtures/server.js'

loopbackOnly(t)

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function stack(t: Test, clientScopes: string[]) {
  const as = await createLocalAuthorizationServer({
    quiet: true,
    clients: [{ clientId: 'agent', clientSecret: 'agent secret:%', scopes: clientScopes }],
  })
  t.teardown(() => as.close())
  const port = await freePort()
  const resource = `http://127.0.0.1:${port}/mcp`
  const verifier = createJwtVerifier({ issuer: as.issuer, audience: resource })
  const app = await createMcpApp({
    verifier,
    resourceUrl: resource,
    authorizationServers: [as.issuer],
  })
  await app.listen({ host: '127.0.0.1', port })
  t.teardown(async () => {
    await app.close()
    verifier.close()
  })
  return { as, resource }
}

async function connect(t: Test, session: OAuthSession): Promise<Client> {
  const authProvider = createMcpAuthProvider(session, { clientName: 'sdk-test' })
  const transport = new StreamableHTTPClientTransport(new URL(session.resource), {
    authProvider,
    fetch: authProvider.fetch,
  })
  const client = new Client({ name: 'bearerkit-client-test', version: '0.0.0' })
  t.teardown(() => client.close())
  await client.connect(transport)
  return client
}

t.test('the SDK client discovers, gets a token, calls tools, and steps up on a 403', async (t) => {
  const { as, resource } = await stack(t, [TOOLS_SCOPE, ADMIN_SCOPE])
  const session = createOAuthSession({
    resource,
    client: { clientId: 'agent', clientSecret: 'agent secret:%' },
    grant: { type: 'client_credentials' },
  })
  const client = await connect(t, session)
  t.equal(session.state.protectedResource?.source, 'www-authenticate')
  t.equal(session.state.authorizationServer?.issuer, as.issuer)
  t.equal(session.state.client?.method, 'pre-registered')
  t.equal(session.state.tokens?.scope, TOOLS_SCOPE, 'the first token has the scope the 401 named')
  t.equal(as.requestCount('token'), 1)
  const provider = createMcpAuthProvider(session)
  t.same(provider.tokens(), {
    access_token: session.state.tokens?.accessToken,
    token_type: 'Bearer',
  })
  t.same(provider.clientInformation(), { client_id: 'agent' })

  const { tools } = await client.listTools()
  t.same(tools.map((tool) => tool.name).sort(), ['increment', 'reset_counter', 'whoami'])
  const sum = await client.callTool({ name: 'increment', arguments: { by: 3 } })
  t.same(sum.content, [{ type: 'text', text: '3' }])
  t.equal(as.requestCount('token'), 1, 'the token is reused')

  // reset_counter needs mcp:admin: the server answers 403 insufficient_scope with the full scope,
  // the provider gets a token with it and the SDK call succeeds without knowing.
  const reset = await client.callTool({ name: 'reset_counter', arguments: {} })
  t.same(reset.content, [{ type: 'text', text: '0' }])
  t.equal(as.requestCount('token'), 2)
  t.same(session.state.tokens?.scope?.split(' ').sort(), [ADMIN_SCOPE, TOOLS_SCOPE])
  const who = await client.callTool({ name: 'whoami', arguments: {} })
  t.match(JSON.parse((who.content as { text: string }[])[0]?.text ?? ''), {
    clientId: 'agent',
    issuer: as.issuer,
  })
  t.equal(as.requestCount('token'), 2)
})

t.test(
  'step-up the server cannot grant: a bounded number of tries, then ERR_STEP_UP_EXHAUSTED',
  async (t) => {
    const { as, resource } = await stack(t, [TOOLS_SCOPE, ADMIN_SCOPE])
    // The client may be granted mcp:admin, but the session asks for one step-up only and the
    // authorization server is told to grant nothing more: its token lacks mcp:admin every time.
    const session = createOAuthSession({
      resource,
      client: { clientId: 'agent', clientSecret: 'agent secret:%' },
      grant: { type: 'client_credentials' },
      maxStepUps: 1,
      fetch: async (input, init) => {
        // Drop the scope the client asks for on the token endpoint: the AS then grants none, a
        // stand-in for an authorization server that will not grant the larger scope.
        const url = input instanceof Request ? input.url : input.toString()
        if (url === `${as.issuer}/token` && typeof init?.body === 'string') {
          const form = new URLSearchParams(init.body)
          form.set('scope', TOOLS_SCOPE)
          return fetch(input, { ...init, body: form.toString() })
        }
        return fetch(input, init)
      },
    })
    const client = await connect(t, session)
    const error = await client
      .callTool({ name: 'reset_counter', arguments: {} })
      .catch((e: unknown) => e)
    t.match(error, { code: 'ERR_STEP_UP_EXHAUSTED', status: 403 })
    t.equal(as.requestCount('token'), 2, 'one token for the 401, one step-up, then no more')
  },
)

t.test('the provider refuses to let the SDK run its own flow', async (t) => {
  const session = createOAuthSession({
    resource: 'http://127.0.0.1:1/mcp',
    client: { clientId: 'agent' },
    grant: { type: 'client_credentials' },
  })
  const provider = createMcpAuthProvider(session)
  t.equal(provider.redirectUrl, undefined)
  t.same(provider.clientMetadata, { client_name: 'bearerkit', redirect_uris: [] })
  t.equal(provider.clientInformation(), undefined)
  t.equal(provider.tokens(), undefined)
  t.equal(provider.saveTokens({ access_token: 'x', token_type: 'Bearer' }), undefined)
  t.equal(provider.tokens(), undefined, 'tokens from the SDK are not taken')
  for (const call of [
    () => provider.discoveryState?.(),
    () => provider.redirectToAuthorization(new URL('https://x')),
    () => provider.saveCodeVerifier('v'),
    () => provider.codeVerifier(),
  ]) {
    t.throws(call, { code: 'ERR_CALLBACK_FAILED', message: /fetch/ })
  }
  t.throws(() => createMcpAuthProvider({} as never), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => createMcpAuthProvider(session, { clientName: '' }), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
})
