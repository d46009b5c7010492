// Drives examples/express-mcp-server.ts with the MCP SDK's own Client over real HTTP on 127.0.0.1.
import type { AddressInfo } from 'node:net'
import { VerifierUnavailableError, defineVerifier } from '@bearerkit/core'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import t, { type Test } from 'tap'
import {
  ADMIN_SCOPE,
  TOOLS_SCOPE,
  createExpressMcpApp,
  startFromEnv,
} from '../../../examples/express-mcp-server.js'
import { jwtFixture } from '../../fastify/test/fixtures/jwt.js'
import type { TokenVerifier } from '@bearerkit/core'

const ISSUER = 'https://login.example.com/'

interface Exchange {
  status: number
  headers: Headers
  body: string
}

function recordingFetch(log: Exchange[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init)
    const type = response.headers.get('content-type') ?? ''
    const body = type.includes('text/event-stream') ? '' : await response.clone().text()
    log.push({ status: response.status, headers: response.headers, body })
    return response
  }
}

async function start(
  t: Test,
  verifier: (resource: string) => Promise<TokenVerifier> | TokenVerifier,
): Promise<{ url: URL; resource: string }> {
  // The resource URL names the port, so the port is taken first and the app built for it.
  const { app: probe } = createExpressMcpApp({
    verifier: { verifyToken: () => Promise.resolve(null) },
    resourceUrl: 'http://127.0.0.1/mcp',
    authorizationServers: [ISSUER],
  })
  const server = probe.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  const resource = `http://127.0.0.1:${port}/mcp`
  const built = createExpressMcpApp({
    verifier: await verifier(resource),
    resourceUrl: resource,
    authorizationServers: [ISSUER],
  })
  server.removeAllListeners('request')
  server.on('request', built.app)
  t.teardown(async () => {
    await built.close()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { url: new URL(resource), resource }
}

async function connect(
  t: Test,
  url: URL,
  token: string | undefined,
  log: Exchange[] = [],
  sessionId?: string,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
    fetch: recordingFetch(log),
    ...(sessionId === undefined ? {} : { sessionId }),
  })
  const client = new Client({ name: 'bearerkit-test', version: '0.0.0' })
  t.teardown(() => client.close())
  await client.connect(transport)
  return { client, transport }
}

const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => null,
    (error: unknown) => error,
  )

t.test('the Express MCP example, driven by the SDK client', async (t) => {
  let jwt: Awaited<ReturnType<typeof jwtFixture>> | undefined
  const { url, resource } = await start(t, async (resource) => {
    jwt = await jwtFixture(ISSUER, resource)
    return jwt.verifier
  })
  const fixture = jwt!
  const mint = (claims: Parameters<typeof fixture.mint>[0]) => fixture.mint(claims)
  const metadataUrl = `${url.origin}/.well-known/oauth-protected-resource/mcp`
  const alice = await mint({ sub: 'alice', scope: TOOLS_SCOPE })
  const aliceAdmin = await mint({ sub: 'alice', scope: `${TOOLS_SCOPE} ${ADMIN_SCOPE}` })
  const bob = await mint({ sub: 'bob', scope: `${TOOLS_SCOPE} ${ADMIN_SCOPE}` })

  await t.test('with a token, tools work and see req.auth', async (t) => {
    const { client, transport } = await connect(t, url, alice)
    t.type(transport.sessionId, 'string')
    const who = await client.callTool({ name: 'whoami', arguments: {} })
    t.same(who.content, [
      {
        type: 'text',
        text: JSON.stringify({ clientId: 'mcp-client', subject: 'alice', issuer: ISSUER }),
      },
    ])
    const sum = await client.callTool({ name: 'increment', arguments: { by: 2 } })
    t.same(sum.content, [{ type: 'text', text: '2' }])
  })

  await t.test('without a token: 401 with resource_metadata; the metadata is served', async (t) => {
    const log: Exchange[] = []
    const error = await failure(connect(t, url, undefined, log))
    t.ok(error instanceof StreamableHTTPError)
    t.equal((error as StreamableHTTPError).code, 401)
    t.equal(
      log[0]?.headers.get('www-authenticate'),
      `Bearer scope="${TOOLS_SCOPE}", resource_metadata="${metadataUrl}"`,
    )
    const metadata = await fetch(metadataUrl)
    t.equal(metadata.status, 200)
    t.same(await metadata.json(), {
      resource,
      authorization_servers: [ISSUER],
      scopes_supported: [TOOLS_SCOPE, ADMIN_SCOPE],
      bearer_methods_supported: ['header'],
      resource_name: 'bearerkit example MCP server',
    })
  })

  await t.test('the scoped tool is 403 until the token has the scope', async (t) => {
    const log: Exchange[] = []
    const { client } = await connect(t, url, alice, log)
    const error = await failure(client.callTool({ name: 'reset_counter', arguments: {} }))
    t.equal((error as StreamableHTTPError).code, 403)
    t.equal(
      log.find((exchange) => exchange.status === 403)?.headers.get('www-authenticate'),
      `Bearer error="insufficient_scope", error_description="The access token lacks a required scope", scope="${TOOLS_SCOPE} ${ADMIN_SCOPE}", resource_metadata="${metadataUrl}"`,
    )
    const { client: stepped } = await connect(t, url, aliceAdmin)
    const reset = await stepped.callTool({ name: 'reset_counter', arguments: {} })
    t.same(reset.content, [{ type: 'text', text: '0' }])
  })

  await t.test("another principal's session id is 404; the owner keeps it", async (t) => {
    const { transport: own, client: aliceClient } = await connect(t, url, alice)
    const sessionId = own.sessionId as string
    const log: Exchange[] = []
    const { client: bobClient } = await connect(t, url, bob, log, sessionId)
    const error = await failure(bobClient.listTools())
    t.equal((error as StreamableHTTPError).code, 404)
    t.equal(
      log.find((exchange) => exchange.status === 404)?.body,
      '{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}',
    )
    const { tools } = await aliceClient.listTools()
    t.equal(tools.length, 3, 'the owner still uses the session')
    const unknown = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${alice}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': 'no-such-session',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    t.equal(unknown.status, 404)
    const get = await fetch(url, { headers: { authorization: `Bearer ${alice}` } })
    t.equal(get.status, 400, 'GET without a session')
    const notInit = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${alice}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    t.equal(notInit.status, 400, 'no session and not an initialize request')
    await own.terminateSession()
  })
})

t.test('an unavailable verifier is 503 with Retry-After, never 401 or 500', async (t) => {
  const { url } = await start(t, () =>
    defineVerifier('down', () => {
      throw new VerifierUnavailableError('JWKS timed out', { reason: 'timeout', retryAfter: 7 })
    }),
  )
  const log: Exchange[] = []
  const error = await failure(connect(t, url, 'any-token', log))
  t.equal((error as StreamableHTTPError).code, 503)
  t.equal(log[0]?.status, 503)
  t.equal(log[0]?.headers.get('retry-after'), '7')
  t.equal(log[0]?.headers.get('www-authenticate'), null)
})

t.test('startFromEnv needs a verifier and an authorization server', async (t) => {
  await t.rejects(startFromEnv({}), /Set BEARERKIT_VERIFIER/)
})
