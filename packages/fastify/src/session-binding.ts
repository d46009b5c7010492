import { invalidArgument, samePrincipal, type PrincipalComponents } from '@bearerkit/core'
import type { FastifyReply, FastifyRequest } from 'fastify'
import {
  createSharedSessionBinding,
  type SharedSessionBinding,
  type SharedSessionBindingOptions,
} from './shared-session-binding.js'
import './types.js'

/** Options of {@link createSessionBinding}. */
export interface SessionBindingOptions {
  /**
   * Most sessions remembered (default 10 000). Past it the oldest binding is dropped and its
   * session answered 404 from then on, which MCP clients meet by initializing a new session.
   */
  maxSessions?: number
  /** Request header carrying the session id (default `mcp-session-id`, MCP Streamable HTTP). */
  header?: string
  /** Called with the id of a binding dropped to make room, so the session can be closed. */
  onEvict?: (sessionId: string) => void
}

/**
 * Binds sessions to the principal that created them, as the MCP Python SDK does: a request on a
 * session from another principal is answered as if the session did not exist.
 */
export interface SessionBinding {
  /** Records `principal` as the owner of `sessionId`; call it when the session is created. */
  bind(sessionId: string, principal: PrincipalComponents): void
  /**
   * Whether `sessionId` exists and belongs to `principal` (by `samePrincipal`). An unknown
   * session, a `null` principal and another principal's session are all `false`: answer 404.
   */
  check(sessionId: string, principal: PrincipalComponents | null): boolean
  /** Forgets a session (closed or deleted); true when it was bound. */
  unbind(sessionId: string): boolean
  /** Number of bound sessions. */
  readonly size: number
  /**
   * A Fastify `preHandler` hook: when the request names a session (the `header` option) that is
   * not the caller's, it answers `404` with the body MCP's transport uses for an unknown session
   * (`{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}`), so
   * another principal cannot even learn that the session exists. Requests without the header
   * (session creation) pass.
   */
  readonly guard: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
}

/** The JSON-RPC body the MCP SDK's Streamable HTTP transport sends for an unknown session. */
export const SESSION_NOT_FOUND_BODY = Object.freeze({
  jsonrpc: '2.0',
  error: Object.freeze({ code: -32001, message: 'Session not found' }),
  id: null,
})

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * Creates an in-memory {@link SessionBinding}. Keep one per server process; behind a load balancer
 * without sticky sessions the sessions themselves must be shared, and so must this binding.
 *
 * @see https://modelcontextprotocol.io/specification/2025-06-18/basic/security_best_practices#session-hijacking MCP, session hijacking
 * @example
 * ```ts
 * const sessions = createSessionBinding({ onEvict: (id) => transports.get(id)?.close() })
 * app.post('/mcp', { preHandler: sessions.guard }, async (request, reply) => {
 *   // on a new session:
 *   //   onsessioninitialized: (id) => sessions.bind(id, request.principal!)
 * })
 * ```
 */
export function createSessionBinding(options: SharedSessionBindingOptions): SharedSessionBinding
export function createSessionBinding(options?: SessionBindingOptions): SessionBinding
export function createSessionBinding(
  options: SessionBindingOptions | SharedSessionBindingOptions = {},
): SessionBinding | SharedSessionBinding {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('options', 'must be an object')
  }
  // With a store, bindings are shared by every instance that uses it (a fleet), and every
  // method answers a promise; without, they live in this process.
  if ('store' in options && options.store !== undefined) {
    for (const name of ['maxSessions', 'onEvict'] as const) {
      if (name in options) {
        throw invalidArgument(
          `options.${name}`,
          'is not used with a store (the store bounds itself)',
        )
      }
    }
    return createSharedSessionBinding(options)
  }
  const memoryOptions = options as SessionBindingOptions
  const maxSessions = memoryOptions.maxSessions ?? 10_000
  if (!Number.isInteger(maxSessions) || maxSessions < 1) {
    throw invalidArgument('options.maxSessions', 'must be a positive whole number')
  }
  const header = memoryOptions.header ?? 'mcp-session-id'
  if (typeof header !== 'string' || !HEADER_NAME.test(header)) {
    throw invalidArgument('options.header', 'must be a header name')
  }
  const headerName = header.toLowerCase()
  const onEvict = memoryOptions.onEvict
  if (onEvict !== undefined && typeof onEvict !== 'function') {
    throw invalidArgument('options.onEvict', 'must be a function')
  }

  // A Map iterates in insertion order, so its first key is the oldest binding.
  const owners = new Map<string, PrincipalComponents>()

  const check = (sessionId: string, principal: PrincipalComponents | null): boolean => {
    if (principal === null) return false
    const owner = owners.get(sessionId)
    return owner !== undefined && samePrincipal(owner, principal)
  }

  const binding: SessionBinding = {
    bind(sessionId, principal) {
      if (typeof sessionId !== 'string' || sessionId === '') {
        throw invalidArgument('sessionId', 'must be a non-empty string')
      }
      if (!Array.isArray(principal) || principal.length !== 3) {
        throw invalidArgument('principal', 'must be the [clientId, issuer, subject] of a token')
      }
      owners.delete(sessionId)
      owners.set(sessionId, principal)
      while (owners.size > maxSessions) {
        const oldest = owners.keys().next().value as string
        owners.delete(oldest)
        onEvict?.(oldest)
      }
    },
    check,
    unbind(sessionId) {
      return owners.delete(sessionId)
    },
    get size() {
      return owners.size
    },
    async guard(request, reply) {
      const sessionId = request.headers[headerName]
      if (sessionId === undefined) return
      // A repeated header is never a session id this process handed out.
      if (typeof sessionId === 'string' && check(sessionId, request.principal ?? null)) return
      request.log.debug(
        {
          bearer: {
            reason:
              typeof sessionId === 'string' && owners.has(sessionId)
                ? 'session_not_owned'
                : 'session_unknown',
            statusCode: 404,
          },
        },
        'session refused',
      )
      await reply.code(404).type('application/json').send(JSON.stringify(SESSION_NOT_FOUND_BODY))
    },
  }
  return binding
}
