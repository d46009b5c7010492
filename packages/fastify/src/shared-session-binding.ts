import {
  guardSessionStore,
  invalidArgument,
  readStoreTimeout,
  samePrincipal,
  type PrincipalComponents,
  type SessionStore,
  type StoreCallOptions,
} from '@bearerkit/core'
import type { FastifyReply, FastifyRequest } from 'fastify'
import './types.js'

/** Options of a session binding kept in a {@link SessionStore} (`createSessionBinding({ store })`). */
export interface SharedSessionBindingOptions {
  /** Where bindings live: core's `createMemorySessionStore()`, or `@bearerkit/redis`'s `stores.sessions`. */
  store: SessionStore
  /** Life of a binding in milliseconds, extended on every guarded request. Default 24 hours. */
  ttl?: number
  /** Deadline of each store call, in milliseconds. Default 100. */
  storeTimeout?: number
  /** Request header carrying the session id (default `mcp-session-id`, MCP Streamable HTTP). */
  header?: string
}

/**
 * A session binding shared by every instance that uses the same store: a session bound on one
 * instance is its creator's on all of them, and nobody else's. Every method answers a promise.
 *
 * Failure semantics: ownership is a security decision. When the store cannot answer (down,
 * slow past its deadline, answering garbage) `check` and `guard` fail with
 * `VerifierUnavailableError`: the request gets 503 with `Retry-After`, never the owner's answer
 * for someone else and never a 404 for the real owner.
 */
export interface SharedSessionBinding {
  /** Records `principal` as the owner of `sessionId`; await it before answering the creation. */
  bind(sessionId: string, principal: PrincipalComponents, options?: StoreCallOptions): Promise<void>
  /** Whether `sessionId` exists and belongs to `principal`; rejects (503) when the store cannot say. */
  check(
    sessionId: string,
    principal: PrincipalComponents | null,
    options?: StoreCallOptions,
  ): Promise<boolean>
  /** Forgets a session; true when it was bound. */
  unbind(sessionId: string, options?: StoreCallOptions): Promise<boolean>
  /**
   * A Fastify `preHandler`: a request naming a session that is not the caller's is answered 404
   * with the MCP transport's unknown-session body; a store failure is a 503 (thrown, rendered by
   * the bearerAuth plugin with `Retry-After`). Requests without the header pass.
   */
  readonly guard: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const NOT_FOUND = JSON.stringify({
  jsonrpc: '2.0',
  error: { code: -32001, message: 'Session not found' },
  id: null,
})

/** Creates a {@link SharedSessionBinding}; reached through `createSessionBinding({ store })`. */
export function createSharedSessionBinding(
  options: SharedSessionBindingOptions,
): SharedSessionBinding {
  const store = guardSessionStore(options.store, {
    timeout: readStoreTimeout('options.storeTimeout', options.storeTimeout),
  })
  const ttl = options.ttl ?? 86_400_000
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
    throw invalidArgument('options.ttl', 'must be a finite number of milliseconds > 0')
  }
  const header = options.header ?? 'mcp-session-id'
  if (typeof header !== 'string' || !HEADER_NAME.test(header)) {
    throw invalidArgument('options.header', 'must be a header name')
  }
  const headerName = header.toLowerCase()

  const owner = async (
    sessionId: string,
    callOptions?: StoreCallOptions,
  ): Promise<PrincipalComponents | null> => store.get(sessionId, callOptions)

  return {
    bind: (sessionId, principal, callOptions) => store.set(sessionId, principal, ttl, callOptions),
    async check(sessionId, principal, callOptions) {
      if (principal === null || typeof sessionId !== 'string' || sessionId === '') return false
      const bound = await owner(sessionId, callOptions)
      return bound !== null && samePrincipal(bound, principal)
    },
    unbind: (sessionId, callOptions) => store.delete(sessionId, callOptions),
    async guard(request, reply) {
      const sessionId = request.headers[headerName]
      if (sessionId === undefined) return
      // A repeated header, or an empty one, is never a session id anyone handed out.
      let reason = 'session_unknown'
      if (typeof sessionId === 'string' && sessionId !== '') {
        const bound = await owner(sessionId)
        if (
          bound !== null &&
          request.principal !== null &&
          request.principal !== undefined &&
          samePrincipal(bound, request.principal)
        ) {
          // Sliding expiry; a failure here costs the session a shorter life, not the request.
          store.touch(sessionId, ttl).catch(() => undefined)
          return
        }
        if (bound !== null) reason = 'session_not_owned'
      }
      request.log.debug({ bearer: { reason, statusCode: 404 } }, 'session refused')
      await reply.code(404).type('application/json').send(NOT_FOUND)
    },
  }
}
