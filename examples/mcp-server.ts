/**
 * An MCP server on Fastify behind @bearerkit/fastify: Streamable HTTP transport, `req.auth` for the
 * SDK's tool handlers (through @bearerkit/provider's `toAuthInfo`), one tool that needs an extra
 * scope (403 step-up), and sessions bound to the principal that created them (another principal's
 * session id is answered 404).
 *
 * Run it (any verifier core's verifierConfigFromEnv can describe):
 *   BEARERKIT_VERIFIER=jwt BEARERKIT_ISSUER=https://login.example.com/ \
 *   BEARERKIT_AUDIENCE=http://127.0.0.1:3000/mcp \
 *   MCP_RESOURCE_URL=http://127.0.0.1:3000/mcp MCP_AUTHORIZATION_SERVER=https://login.example.com/ \
 *   node examples/dist/mcp-server.js
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { pathToFileURL } from 'node:url'
import {
  createStoresFromEnv,
  createVerifier,
  verifierConfigFromEnv,
  type Stores,
  type TokenVerifier,
  type VerifierConfig,
} from '@bearerkit/core'
import {
  bearerAuth,
  createSessionBinding,
  requireScopes,
  tokenSafeLogging,
} from '@bearerkit/fastify'
import { toAuthInfo } from '@bearerkit/provider'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify'
import { z } from 'zod'

/** Scope every MCP request needs. */
export const TOOLS_SCOPE = 'mcp:tools'
/** Extra scope of the `reset_counter` tool. */
export const ADMIN_SCOPE = 'mcp:admin'

/** Tools that need more than {@link TOOLS_SCOPE}, checked before the request reaches the SDK. */
const TOOL_SCOPES: Readonly<Record<string, readonly string[]>> = {
  reset_counter: [ADMIN_SCOPE],
}

/** Options of {@link createMcpApp}. */
export interface McpAppOptions {
  /** Any bearerkit verifier, or a config object for createVerifier. */
  verifier: TokenVerifier | VerifierConfig
  /** The MCP endpoint's canonical URL: the audience tokens must carry (RFC 8707). */
  resourceUrl: string
  /** Issuers of the authorization servers clients should use (RFC 9728). */
  authorizationServers: readonly string[]
  /** Fastify logger options. */
  logger?: FastifyServerOptions['logger']
  /**
   * Shared state (core's `createStoresFromEnv`: Redis when `BEARERKIT_REDIS_URL` is set). With
   * stores, session owners live in `stores.sessions`, so a session created on one instance is its
   * owner's on every instance of the fleet, and every token passes `stores.revocations`. Without,
   * sessions are bound in this process only.
   */
  stores?: Stores
}

/** A session binding in the fleet's session store (a day of life, sliding on use). */
function createSharedBinding(stores: Stores) {
  return createSessionBinding({ store: stores.sessions })
}

/** The MCP server of one session: three tools, one of them needing {@link ADMIN_SCOPE}. */
export function buildMcpServer(): McpServer {
  const server = new McpServer({ name: 'bearerkit-example', version: '0.1.0' })
  let counter = 0
  server.registerTool(
    'whoami',
    { description: 'Who the access token speaks for' },
    ({ authInfo }) => ({
      content: [
        {
          type: 'text',
          text: JSON.stringify({
            clientId: authInfo?.clientId,
            subject: authInfo?.extra?.subject ?? null,
            issuer: authInfo?.extra?.issuer ?? null,
          }),
        },
      ],
    }),
  )
  server.registerTool(
    'increment',
    { description: 'Adds to a per-session counter', inputSchema: { by: z.number().int() } },
    ({ by }) => {
      counter += by
      return { content: [{ type: 'text', text: String(counter) }] }
    },
  )
  server.registerTool(
    'reset_counter',
    { description: `Resets the counter (needs ${ADMIN_SCOPE})` },
    ({ authInfo }) => {
      // Checked at the HTTP layer already (a 403 the client can step up from); kept here so the
      // tool stays safe if it is ever mounted without that check.
      if (!authInfo?.scopes.includes(ADMIN_SCOPE)) {
        return { isError: true, content: [{ type: 'text', text: `needs ${ADMIN_SCOPE}` }] }
      }
      counter = 0
      return { content: [{ type: 'text', text: '0' }] }
    },
  )
  return server
}

/**
 * Builds the Fastify app (not listening): bearerAuth on the whole app, the RFC 9728 metadata route,
 * and `/mcp` for POST, GET (SSE) and DELETE.
 */
export async function createMcpApp(options: McpAppOptions): Promise<FastifyInstance> {
  // Fastify logs every request's URL before any hook runs: tokenSafeLogging redacts a token a
  // client put in the query string (it is refused, but the line was already written).
  const logger = options.logger ?? false
  const app = Fastify({
    logger: logger === false ? false : { ...tokenSafeLogging, ...(logger === true ? {} : logger) },
  })
  const transports = new Map<string, StreamableHTTPServerTransport>()
  const stores = options.stores
  // Both bindings have the same methods; the shared one answers promises (awaited below).
  const sessions: ReturnType<typeof createSessionBinding> | ReturnType<typeof createSharedBinding> =
    stores === undefined
      ? createSessionBinding({ onEvict: (id) => void transports.get(id)?.close() })
      : createSharedBinding(stores)

  await app.register(bearerAuth, {
    verifier: options.verifier,
    ...(stores === undefined ? {} : { revocations: stores.revocations }),
    requiredScopes: [TOOLS_SCOPE],
    resource: {
      url: options.resourceUrl,
      authorizationServers: options.authorizationServers,
      scopesSupported: [TOOLS_SCOPE, ADMIN_SCOPE],
      resourceName: 'bearerkit example MCP server',
    },
  })

  // A tools/call for a tool with its own scopes: 403 insufficient_scope listing every scope needed.
  const checkToolScopes = (
    request: FastifyRequest,
    _reply: FastifyReply,
    done: (error?: Error) => void,
  ): void => {
    const messages: unknown[] = Array.isArray(request.body) ? request.body : [request.body]
    try {
      for (const message of messages) {
        const call = message as { method?: unknown; params?: { name?: unknown } } | null
        if (call?.method !== 'tools/call' || typeof call.params?.name !== 'string') continue
        const needed = TOOL_SCOPES[call.params.name]
        if (needed !== undefined) requireScopes(request, needed)
      }
    } catch (error) {
      done(error as Error)
      return
    }
    done()
  }

  const handle = async (
    transport: StreamableHTTPServerTransport,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> => {
    // The SDK reads the verified token from req.auth and hands it to tools as extra.authInfo.
    const raw = request.raw as IncomingMessage & { auth?: AuthInfo }
    const accessToken = request.accessToken
    if (accessToken !== null && accessToken !== undefined) raw.auth = toAuthInfo(accessToken)
    reply.hijack()
    await transport.handleRequest(raw, reply.raw, request.body)
  }

  const openSession = async (request: FastifyRequest): Promise<StreamableHTTPServerTransport> => {
    const principal = request.principal
    // Bound to its creator (MCP security best practices, session hijacking) before the client
    // learns the id, so that its next request finds the binding on any instance.
    const sessionId = randomUUID()
    if (principal !== null && principal !== undefined) await sessions.bind(sessionId, principal)
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => sessionId,
      onsessioninitialized: (id) => {
        transports.set(id, transport)
      },
    })
    transport.onclose = () => {
      const id = transport.sessionId
      if (id !== undefined) {
        transports.delete(id)
        void Promise.resolve(sessions.unbind(id)).catch(() => undefined)
      }
    }
    await buildMcpServer().connect(transport)
    return transport
  }

  const noSession = (reply: FastifyReply, status: number, message: string): FastifyReply =>
    reply.code(status).send({ jsonrpc: '2.0', error: { code: -32000, message }, id: null })

  // A session this instance did not create (another instance of the fleet did; the guard has
  // checked it is the caller's): served by a stateless transport and a fresh server. State kept
  // in the McpServer (the counter) is per instance; state a fleet must share belongs in a store.
  const elsewhere = async (): Promise<StreamableHTTPServerTransport> => {
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
    await buildMcpServer().connect(transport)
    return transport
  }

  app.post('/mcp', { preHandler: [sessions.guard, checkToolScopes] }, async (request, reply) => {
    const sessionId = request.headers['mcp-session-id']
    if (typeof sessionId === 'string') {
      const transport = transports.get(sessionId)
      if (transport !== undefined) return handle(transport, request, reply)
      if (stores === undefined) return noSession(reply, 404, 'Session not found')
      return handle(await elsewhere(), request, reply)
    }
    if (!isInitializeRequest(request.body)) {
      return noSession(reply, 400, 'Bad Request: no session id and not an initialize request')
    }
    return handle(await openSession(request), request, reply)
  })

  // GET opens the server-to-client SSE stream; DELETE ends the session. Both need a session.
  const existing = async (request: FastifyRequest, reply: FastifyReply) => {
    const sessionId = request.headers['mcp-session-id']
    const transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined
    if (transport !== undefined) return handle(transport, request, reply)
    if (stores === undefined || typeof sessionId !== 'string') {
      return noSession(reply, 400, 'Bad Request: unknown session')
    }
    // Another instance's session (the guard checked the owner): ending it ends the binding.
    if (request.method === 'DELETE') {
      await sessions.unbind(sessionId)
      return reply.code(200).send()
    }
    return handle(await elsewhere(), request, reply)
  }
  app.get('/mcp', { preHandler: sessions.guard }, existing)
  app.delete('/mcp', { preHandler: sessions.guard }, existing)

  app.addHook('onClose', async () => {
    await Promise.all([...transports.values()].map((transport) => transport.close()))
  })
  return app
}

/**
 * Starts the example from the environment: `BEARERKIT_*` describes the verifier (core's
 * `verifierConfigFromEnv`), `MCP_AUTHORIZATION_SERVER` the authorization server, `PORT` (default
 * 3000) and `MCP_RESOURCE_URL` (default `http://127.0.0.1:$PORT/mcp`) where it listens.
 */
export async function startFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  logger: FastifyServerOptions['logger'] = true,
): Promise<FastifyInstance> {
  const port = Number(env.PORT ?? 3000)
  const resourceUrl = env.MCP_RESOURCE_URL ?? `http://127.0.0.1:${port}/mcp`
  const authorizationServer = env.MCP_AUTHORIZATION_SERVER
  const config = verifierConfigFromEnv(env)
  if (config === null || authorizationServer === undefined) {
    throw new Error('Set BEARERKIT_VERIFIER (and its options) and MCP_AUTHORIZATION_SERVER')
  }
  // BEARERKIT_REDIS_URL: sessions, revocations and introspection answers shared by a fleet.
  const stores = await createStoresFromEnv(env)
  await stores.ready()
  const app = await createMcpApp({
    verifier: await createVerifier(config, {
      revocations: stores.revocations,
      sharedCache: stores.cache,
    }),
    resourceUrl,
    authorizationServers: [authorizationServer],
    logger,
    stores,
  })
  app.addHook('onClose', () => stores.close())
  await app.listen({ host: '127.0.0.1', port })
  return app
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  startFromEnv().catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
