import { invalidArgument } from '../errors.js'
import { readInteger } from '../options.js'
import type { PrincipalComponents } from '../principal.js'
import {
  callStore,
  invalidStoreAnswer,
  readStoreTimeout,
  type StoreCallOptions,
} from './store-call.js'
import type { StoreGuardOptions } from './replay-store.js'

/**
 * Session id -> the principal that created the session, with a time to live. Session binding
 * (MCP: a session is answered only for the principal that created it) reads it on every request
 * that names a session; a fleet shares it (`@bearerkit/redis`) so a session created on one
 * instance is known, and owned by the same principal, on all of them.
 *
 * Failure semantics: ownership is a security decision. A store that throws, misses its deadline
 * or answers the wrong type makes the request fail with `VerifierUnavailableError` (503): never a
 * 200 for another principal, and never a 404 for the real owner; see {@link guardSessionStore}.
 *
 * @see https://modelcontextprotocol.io/specification/2025-06-18/basic/security_best_practices#session-hijacking MCP, session hijacking
 */
export interface SessionStore {
  /** Binds `sessionId` to `principal` for `ttl` milliseconds (replacing any binding). */
  set(
    sessionId: string,
    principal: PrincipalComponents,
    ttl: number,
    options?: StoreCallOptions,
  ): void | Promise<void>
  /** The principal bound to `sessionId`, or `null` when there is none (unknown or expired). */
  get(
    sessionId: string,
    options?: StoreCallOptions,
  ): PrincipalComponents | null | Promise<PrincipalComponents | null>
  /** Extends the binding to `ttl` milliseconds from now; false when there is none. */
  touch(sessionId: string, ttl: number, options?: StoreCallOptions): boolean | Promise<boolean>
  /** Forgets the binding; false when there was none. */
  delete(sessionId: string, options?: StoreCallOptions): boolean | Promise<boolean>
}

/** Options of {@link createMemorySessionStore}. */
export interface MemorySessionStoreOptions {
  /**
   * Most sessions held (default 10,000). Past it the oldest binding is dropped (its session is
   * answered 404 from then on, which MCP clients meet by initializing a new one).
   */
  max?: number
  /** Called with the id of a binding dropped to make room, so the session can be closed. */
  onEvict?: (sessionId: string) => void
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

interface Binding {
  readonly principal: PrincipalComponents
  until: number
}

/**
 * A bounded in-memory {@link SessionStore} for one process.
 *
 * @example
 * ```ts
 * const sessions = createMemorySessionStore({ max: 10_000, onEvict: (id) => transports.get(id)?.close() })
 * ```
 */
export function createMemorySessionStore(options: MemorySessionStoreOptions = {}): SessionStore {
  const max = readInteger('options.max', options.max, 10_000, 1)
  if (options.onEvict !== undefined && typeof options.onEvict !== 'function') {
    throw invalidArgument('options.onEvict', 'must be a function')
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalidArgument('options.now', 'must be a function returning milliseconds')
  }
  const onEvict = options.onEvict
  const now = options.now ?? Date.now
  // A Map iterates in insertion order: its first key is the oldest binding.
  const bindings = new Map<string, Binding>()

  const live = (sessionId: string): Binding | undefined => {
    const binding = bindings.get(sessionId)
    if (binding === undefined) return undefined
    if (binding.until > now()) return binding
    bindings.delete(sessionId)
    return undefined
  }

  return {
    set(sessionId, principal, ttl) {
      bindings.delete(sessionId)
      bindings.set(sessionId, {
        principal: Object.freeze([...principal] as const),
        until: now() + ttl,
      })
      while (bindings.size > max) {
        const oldest = bindings.keys().next().value as string
        bindings.delete(oldest)
        onEvict?.(oldest)
      }
    },
    get(sessionId) {
      return live(sessionId)?.principal ?? null
    },
    touch(sessionId, ttl) {
      const binding = live(sessionId)
      if (binding === undefined) return false
      binding.until = now() + ttl
      return true
    },
    delete(sessionId) {
      return live(sessionId) !== undefined && bindings.delete(sessionId)
    },
  }
}

/** A {@link SessionStore} whose every answer is a checked promise. */
export interface GuardedSessionStore {
  set(
    sessionId: string,
    principal: PrincipalComponents,
    ttl: number,
    options?: StoreCallOptions,
  ): Promise<void>
  get(sessionId: string, options?: StoreCallOptions): Promise<PrincipalComponents | null>
  touch(sessionId: string, ttl: number, options?: StoreCallOptions): Promise<boolean>
  delete(sessionId: string, options?: StoreCallOptions): Promise<boolean>
}

const isComponent = (value: unknown): value is string | null =>
  value === null || typeof value === 'string'

/** Whether `value` is a well-formed principal triple (a non-empty client id, string or null). */
export function isPrincipalComponents(value: unknown): value is PrincipalComponents {
  return (
    Array.isArray(value) &&
    value.length === 3 &&
    typeof value[0] === 'string' &&
    value[0] !== '' &&
    isComponent(value[1]) &&
    isComponent(value[2])
  )
}

/**
 * Wraps any {@link SessionStore} so that it fails closed: each call has a deadline, answers of the
 * wrong type (a principal that is not a `[clientId, issuer, subject]` triple, a touch that is not
 * a boolean) are failures, and every failure is a `VerifierUnavailableError` (503) published on
 * `STORE_CHANNEL`.
 *
 * @example
 * ```ts
 * const sessions = guardSessionStore(redisStores.sessions)
 * const owner = await sessions.get(sessionId, { signal })
 * if (owner === null || !samePrincipal(owner, principal)) reply.code(404)
 * ```
 */
export function guardSessionStore(
  store: SessionStore,
  options: StoreGuardOptions = {},
): GuardedSessionStore {
  for (const method of ['set', 'get', 'touch', 'delete'] as const) {
    if (typeof store?.[method] !== 'function') {
      throw invalidArgument('sessionStore', 'must be a SessionStore (set, get, touch, delete)')
    }
  }
  const timeout = readStoreTimeout('options.timeout', options.timeout)
  const checkId = (sessionId: string): void => {
    if (typeof sessionId !== 'string' || sessionId === '') {
      throw invalidArgument('sessionId', 'must be a non-empty string')
    }
  }
  const checkTtl = (ttl: number): void => {
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
      throw invalidArgument('ttl', 'must be a finite number of milliseconds > 0')
    }
  }
  const bool = async (answer: Promise<unknown>): Promise<boolean> => {
    const value = await answer
    if (typeof value !== 'boolean') throw invalidStoreAnswer('session')
    return value
  }
  return {
    async set(sessionId, principal, ttl, callOptions) {
      checkId(sessionId)
      checkTtl(ttl)
      if (!isPrincipalComponents(principal)) {
        throw invalidArgument('principal', 'must be the [clientId, issuer, subject] of a token')
      }
      await callStore('session', (signal) => store.set(sessionId, principal, ttl, { signal }), {
        timeout,
        signal: callOptions?.signal,
      })
    },
    async get(sessionId, callOptions) {
      checkId(sessionId)
      const answer: unknown = await callStore(
        'session',
        (signal) => store.get(sessionId, { signal }),
        { timeout, signal: callOptions?.signal },
      )
      if (answer === null) return null
      if (!isPrincipalComponents(answer)) throw invalidStoreAnswer('session')
      return answer
    },
    async touch(sessionId, ttl, callOptions) {
      checkId(sessionId)
      checkTtl(ttl)
      return bool(
        callStore('session', (signal) => store.touch(sessionId, ttl, { signal }), {
          timeout,
          signal: callOptions?.signal,
        }),
      )
    },
    async delete(sessionId, callOptions) {
      checkId(sessionId)
      return bool(
        callStore('session', (signal) => store.delete(sessionId, { signal }), {
          timeout,
          signal: callOptions?.signal,
        }),
      )
    },
  }
}
