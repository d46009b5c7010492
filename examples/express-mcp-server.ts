/**
 * An MCP server on Express behind @bearerkit/express: the MCP SDK's Streamable HTTP transport,
 * `req.auth` for the SDK's tool handlers (through @bearerkit/provider's `toAuthInfo`), one tool that
 * needs an extra scope (403 step-up), and sessions bound to the principal that created them
 * (another principal's session id is answered 404).
 *
 * Unlike the SDK's own `requireBearerAuth`, which answers 500 when the token cannot be checked, an
 * unavailable verifier (JWKS or introspection endpoint down) is a 503 with `Retry-After` here:
 * the client retries instead of giving up.
 *
 * Run it (any verifier core's verifierConfigFromEnv can describe):
 *   BEARERKIT_VERIFIER=jwt BEARERKIT_ISSUER=https://login.example.com/ \
 *   BEARERKIT_AUDIENCE=http://127.0.0.1:3000/mcp \
 *   MCP_RESOURCE_URL=http://127.0.0.1:3000/mcp MCP_AUTHORIZATION_SERVER=https://login.example.com/ \
 *   node examples/dist/express-mcp-server.js
 */
import { randomUUID } from 'node:crypto'
import type { Server } from 'node:http'
import { pathToFileURL } from 'node:url'
import {
  createMemorySessionStore,
  createVerifier,
  samePrincipal,
  verifierConfigFromEnv,
  type TokenVerifier,
} from '@bearerkit/core'
import { bearerAuth, requireScopes } from '@bearerkit/express'
import { toAuthInfo } from '@bearerkit/provider'
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import express, { type Express, type NextFunction, type Request, type Response } from 'express'
import { ADMIN_SCOPE, TOOLS_SCOPE, buildMcpServer } from './mcp-server.js'

export { ADMIN_SCOPE, TOOLS_SCOPE } from './mcp-server.js'

/** Tools that need more than {@link TOOLS_SCOPE}, checked before the request reaches the SDK. */
const TOOL_SCOPES: Readonly<Record<string, readonly string[]>> = {
  reset_counter: [ADMIN_SCOPE],
}

/** How long a session stays bound to its creator without being used. */
const SESSION_TTL = 60 * 60 * 1000

/** The JSON-RPC body the MCP SDK's transport sends for an unknown session. */
const SESSION_NOT_FOUND = {
  jsonrpc: '2.0',
  error: { code: -32001, message: 'Session not found' },
  id: null,
}

/** Options of {@link createExpressMcpApp}. */
export interface ExpressMcpAppOptions {
  /** Any bearerkit verifier. */
  verifier: TokenVerifier
  /** The MCP endpoint's canonical URL: the audience tokens must carry (RFC 8707). */
  resourceUrl: string
  /** Issuers of the authorization servers clients should use (RFC 9728). */
  authorizationServers: readonly string[]
}

/** The Express app and how to end its sessions. */
export interface ExpressMcpApp {
  readonly app: Express
  /** Closes every open MCP session. */
  close(this: void): Promise<void>
}

/**
 * Builds the Express app (not listening): bearerAuth on every request (it also answers the RFC 9728
 * metadata), `/mcp` for POST, GET (SSE) and DELETE.
 */
export function createExpressMcpApp(options: ExpressMcpAppOptions): ExpressMcpApp {
  const transports = new Map<string, StreamableHTTPServerTransport>()
  const sessions = createMemorySessionStore({
    onEvict: (id) => void transports.get(id)?.close(),
  })
  const auth = bearerAuth({
    verifier: options.verifier,
    requiredScopes: [TOOLS_SCOPE],
    resource: {
      url: options.resourceUrl,
      authorizationServers: options.authorizationServers,
      scopesSupported: [TOOLS_SCOPE, ADMIN_SCOPE],
      resourceName: 'bearerkit example MCP server',
    },
  })

  const app = express()
  app.disable('x-powered-by')
  app.use(auth)
  app.use(express.json())

  // MCP security best practices (session hijacking): a session id is honoured only for the
  // principal that created it; for anyone else it does not exist.
  const sessionGuard = (req: Request, res: Response, next: NextFunction): void => {
    const sessionId = req.headers['mcp-session-id']
    if (sessionId === undefined) {
      next()
      return
    }
    Promise.resolve(typeof sessionId === 'string' ? sessions.get(sessionId) : null).then(
      (owner) => {
        if (owner !== null && req.principal !== undefined && samePrincipal(owner, req.principal)) {
          next()
        } else {
          res.status(404).json(SESSION_NOT_FOUND)
        }
      },
      next,
    )
  }

  // A tools/call for a tool with its own scopes: 403 insufficient_scope listing every scope needed.
  const toolScopes = (req: Request, res: Response, next: NextFunction): void => {
    const messages: unknown[] = Array.isArray(req.body) ? req.body : [req.body]
    for (const message of messages) {
      const call = message as { method?: unknown; params?: { name?: unknown } } | null
      if (call?.method !== 'tools/call' || typeof call.params?.name !== 'string') continue
      const needed = TOOL_SCOPES[call.params.name]
      if (needed !== undefined && !requireScopes(req, res, needed)) return
    }
    next()
  }

  const handle = async (
    transport: StreamableHTTPServerTransport,
    req: Request,
    res: Response,
  ): Promise<void> => {
    // The SDK reads the verified token from req.auth and hands it to tools as extra.authInfo.
    const raw = req as Request & { auth?: AuthInfo }
    if (req.accessToken !== undefined) raw.auth = toAuthInfo(req.accessToken)
    await transport.handleRequest(raw, res, req.body)
  }

  const openSession = async (req: Request): Promise<StreamableHTTPServerTransport> => {
    const principal = req.principal
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: async (id) => {
        transports.set(id, transport)
        if (principal !== undefined) await sessions.set(id, principal, SESSION_TTL)
      },
    })
    transport.onclose = () => {
      const id = transport.sessionId
      if (id !== undefined) {
        transports.delete(id)
        void sessions.delete(id)
      }
    }
    await buildMcpServer().connect(transport)
    return transport
  }

  const noSession = (res: Response, status: number, message: string): void => {
    res.status(status).json({ jsonrpc: '2.0', error: { code: -32000, message }, id: null })
  }

  app.post('/mcp', sessionGuard, toolScopes, async (req, res) => {
    const sessionId = req.headers['mcp-session-id']
    if (typeof sessionId === 'string') {
      const transport = transports.get(sessionId)
      if (transport === undefined) return noSession(res, 404, 'Session not found')
      return handle(transport, req, res)
    }
    if (!isInitializeRequest(req.body)) {
      return noSession(res, 400, 'Bad Request: no session id and not an initialize request')
    }
    return handle(await openSession(req), req, res)
  })

  // GET opens the server-to-client SSE stream; DELETE ends the session. Both need a session.
  const existing = async (req: Request, res: Response): Promise<void> => {
    const sessionId = req.headers['mcp-session-id']
    const transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined
    if (transport === undefined) return noSession(res, 400, 'Bad Request: unknown session')
    return handle(transport, req, res)
  }
  app.get('/mcp', sessionGuard, existing)
  app.delete('/mcp', sessionGuard, existing)

  return {
    app,
    async close() {
      await Promise.all([...transports.values()].map((transport) => transport.close()))
    },
  }
}

/**
 * Starts the example from the environment: `BEARERKIT_*` describes the verifier (core's
 * `verifierConfigFromEnv`), `MCP_AUTHORIZATION_SERVER` the authorization server, `PORT` (default
 * 3000) and `MCP_RESOURCE_URL` (default `http://127.0.0.1:$PORT/mcp`) where it listens.
 */
export async function startFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<{ server: Server; close(): Promise<void> }> {
  const port = Number(env.PORT ?? 3000)
  const resourceUrl = env.MCP_RESOURCE_URL ?? `http://127.0.0.1:${port}/mcp`
  const authorizationServer = env.MCP_AUTHORIZATION_SERVER
  const config = verifierConfigFromEnv(env)
  if (config === null || authorizationServer === undefined) {
    throw new Error('Set BEARERKIT_VERIFIER (and its options) and MCP_AUTHORIZATION_SERVER')
  }
  const mcp = createExpressMcpApp({
    verifier: await createVerifier(config),
    resourceUrl,
    authorizationServers: [authorizationServer],
  })
  const server = mcp.app.listen(port, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  return {
    server,
    async close() {
      await mcp.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  startFromEnv().catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
