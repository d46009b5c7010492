// Drives examples/mcp-server.ts with the MCP SDK's own Client over real HTTP on 127.0.0.1.
import { createServer } from 'node:net'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import t from 'tap'
import type { Test } from 'tap'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import {
  ADMIN_SCOPE,
  TOOLS_SCOPE,
  buildMcpServer,
  createMcpApp,
  startFromEnv,
} from '../../../examples/mcp-server.js'
import { jwtFixture, type JwtFixture } from './fixtures/jwt.js'

const ISSUER = 'https://login.example.com/'

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

interface Exchange {
  status: number
  headers: Headers
  body: string
}

/** A fetch that records every response (status, headers, body) the client transport gets. */
function recordingFetch(log: Exchange[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init)
    const type = response.headers.get('content-type') ?? ''
    const body = type.includes('text/event-stream') ? '' : await response.clone().text()
    log.push({ status: response.status, headers: response.headers, body })
    return response
  }
}

async function startExample(t: Test): Promise<{ url: URL; resource: string; jwt: JwtFixture }> {
  const port = await freePort()
  const resource = `http://127.0.0.1:${port}/mcp`
  const jwt = await jwtFixture(ISSUER, resource)
  const app = await createMcpApp({
    verifier: jwt.verifier,
    resourceUrl: resource,
    authorizationServers: [ISSUER],
  })
  await app.listen({ host: '127.0.0.1', port })
  t.teardown(() => app.close())
  return { url: new URL(resource), resource, jwt }
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

t.test('the MCP example behind bearerAuth, driven by the SDK client', async (t) => {
  const { url, resource, jwt } = await startExample(t)
  const metadataUrl = `${url.origin}/.well-known/oauth-protected-resource/mcp`
  const alice = await jwt.mint({ sub: 'alice', scope: TOOLS_SCOPE })
  const aliceAdmin = await jwt.mint({ sub: 'alice', scope: `${TOOLS_SCOPE} ${ADMIN_SCOPE}` })
  const bob = await jwt.mint({ sub: 'bob', scope: `${TOOLS_SCOPE} ${ADMIN_SCOPE}` })

  await t.test('with a token, tools/list and tools/call work and see req.auth', async (t) => {
    const { client, transport } = await connect(t, url, alice)
    t.type(transport.sessionId, 'string')
    const { tools } = await client.listTools()
    t.same(tools.map((tool) => tool.name).sort(), ['increment', 'reset_counter', 'whoami'])
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

  await t.test(
    'without a token: 401 with resource_metadata, and the metadata is there',
    async (t) => {
      const log: Exchange[] = []
      const error = await connect(t, url, undefined, log).then(
        () => null,
        (e: unknown) => e,
      )
      t.ok(error instanceof StreamableHTTPError, 'the client fails to connect')
      t.equal((error as StreamableHTTPError).code, 401)
      t.equal(log[0]?.status, 401)
      t.equal(
        log[0]?.headers.get('www-authenticate'),
        `Bearer scope="${TOOLS_SCOPE}", resource_metadata="${metadataUrl}"`,
      )
      const metadata = await fetch(metadataUrl, {
        headers: { origin: 'https://inspector.example' },
      })
      t.equal(metadata.status, 200)
      t.equal(metadata.headers.get('access-control-allow-origin'), '*')
      t.same(await metadata.json(), {
        resource,
        authorization_servers: [ISSUER],
        scopes_supported: [TOOLS_SCOPE, ADMIN_SCOPE],
        bearer_methods_supported: ['header'],
        resource_name: 'bearerkit example MCP server',
      })
    },
  )

  await t.test('a token for another resource is 401 invalid_token', async (t) => {
    const log: Exchange[] = []
    const foreign = await jwt.mint({
      sub: 'alice',
      scope: TOOLS_SCOPE,
      aud: 'https://other.example/mcp',
    })
    const error = await connect(t, url, foreign, log).then(
      () => null,
      (e: unknown) => e,
    )
    t.equal((error as StreamableHTTPError).code, 401)
    t.equal(
      log[0]?.headers.get('www-authenticate'),
      `Bearer error="invalid_token", error_description="The access token is not meant for this resource", scope="${TOOLS_SCOPE}", resource_metadata="${metadataUrl}"`,
    )
  })

  await t.test(
    'the scoped tool is 403 insufficient_scope until the token has the scope',
    async (t) => {
      const log: Exchange[] = []
      const { client } = await connect(t, url, alice, log)
      const error = await client.callTool({ name: 'reset_counter', arguments: {} }).then(
        () => null,
        (e: unknown) => e,
      )
      t.ok(error instanceof StreamableHTTPError)
      t.equal((error as StreamableHTTPError).code, 403)
      const refused = log.find((exchange) => exchange.status === 403)
      t.equal(
        refused?.headers.get('www-authenticate'),
        `Bearer error="insufficient_scope", error_description="The access token lacks a required scope", scope="${TOOLS_SCOPE} ${ADMIN_SCOPE}", resource_metadata="${metadataUrl}"`,
      )
      t.equal(
        refused?.body,
        '{"error":"insufficient_scope","error_description":"The access token lacks a required scope"}',
      )
      const { client: stepped } = await connect(t, url, aliceAdmin)
      const reset = await stepped.callTool({ name: 'reset_counter', arguments: {} })
      t.same(reset.content, [{ type: 'text', text: '0' }])
    },
  )

  await t.test("another principal's session id is 404", async (t) => {
    const { transport: aliceTransport, client: aliceClient } = await connect(t, url, alice)
    const sessionId = aliceTransport.sessionId as string
    const log: Exchange[] = []
    const { client: bobClient } = await connect(t, url, bob, log, sessionId)
    const error = await bobClient.listTools().then(
      () => null,
      (e: unknown) => e,
    )
    t.ok(error instanceof StreamableHTTPError)
    t.equal((error as StreamableHTTPError).code, 404)
    const refused = log.find((exchange) => exchange.status === 404)
    t.equal(
      refused?.body,
      '{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}',
    )
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
    t.equal(await unknown.text(), refused?.body, 'indistinguishable from an unknown session')
    const still = await aliceClient.listTools()
    t.equal(still.tools.length, 3, 'the owner keeps using the session')
  })
})

t.test('requests without a session, and ending a session', async (t) => {
  const { url, jwt } = await startExample(t)
  const alice = await jwt.mint({ sub: 'alice', scope: TOOLS_SCOPE })
  const post = (headers: Record<string, string>, body: unknown) =>
    fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${alice}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body: JSON.stringify(body),
    })
  const noSession = await post({}, { jsonrpc: '2.0', id: 1, method: 'tools/list' })
  t.equal(noSession.status, 400, 'not an initialize request and no session')
  t.same(await noSession.json(), {
    jsonrpc: '2.0',
    error: { code: -32000, message: 'Bad Request: no session id and not an initialize request' },
    id: null,
  })
  const getWithout = await fetch(url, {
    headers: { authorization: `Bearer ${alice}`, accept: 'text/event-stream' },
  })
  t.equal(getWithout.status, 400)

  const { transport } = await connect(t, url, alice)
  const sessionId = transport.sessionId as string
  await transport.terminateSession()
  const after = await post(
    { 'mcp-session-id': sessionId },
    { jsonrpc: '2.0', id: 2, method: 'tools/list' },
  )
  t.equal(after.status, 404, 'a deleted session is gone, for its owner too')
})

t.test('the admin tool refuses by itself when no scope reaches it', async (t) => {
  // Without the HTTP layer (no authInfo at all) the tool's own check is what refuses.
  const server = buildMcpServer()
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  await server.connect(serverSide)
  const client = new Client({ name: 'in-memory', version: '0.0.0' })
  await client.connect(clientSide)
  t.teardown(() => client.close())
  const result = await client.callTool({ name: 'reset_counter', arguments: {} })
  t.equal(result.isError, true)
  t.same(result.content, [{ type: 'text', text: `needs ${ADMIN_SCOPE}` }])
})

t.test('startFromEnv builds the verifier from BEARERKIT_* variables', async (t) => {
  await t.rejects(startFromEnv({}, false), {
    message: 'Set BEARERKIT_VERIFIER (and its options) and MCP_AUTHORIZATION_SERVER',
  })
  const port = await freePort()
  const resource = `http://127.0.0.1:${port}/mcp`
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const app = await startFromEnv(
    {
      BEARERKIT_VERIFIER: 'jwt',
      BEARERKIT_ISSUER: ISSUER,
      BEARERKIT_AUDIENCE: resource,
      BEARERKIT_KEY: JSON.stringify(await exportJWK(publicKey)),
      MCP_AUTHORIZATION_SERVER: ISSUER,
      MCP_RESOURCE_URL: resource,
      PORT: String(port),
    },
    false,
  )
  t.teardown(() => app.close())
  const token = await new SignJWT({ client_id: 'env-client', scope: TOOLS_SCOPE })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setSubject('carol')
    .setAudience(resource)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey)
  const { client } = await connect(t, new URL(resource), token)
  const who = await client.callTool({ name: 'whoami', arguments: {} })
  t.same(who.content, [
    {
      type: 'text',
      text: JSON.stringify({ clientId: 'env-client', subject: 'carol', issuer: ISSUER }),
    },
  ])
})
