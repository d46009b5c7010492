import type { AccessToken } from '../access-token.js'
import { VerifierUnavailableError, invalidArgument, isVerifierUnavailable } from '../errors.js'
import { readInteger } from '../options.js'
import {
  callStore,
  invalidStoreAnswer,
  readStoreTimeout,
  storeUnavailable,
  type StoreCallOptions,
} from './store-call.js'
import { publishStoreEvent } from './store-events.js'
import type { StoreGuardOptions } from './replay-store.js'
import { createRevocationSet, readRevocation, type Revocation } from './revocation-set.js'

/**
 * Revoked tokens, subjects and clients, consulted on every request after a token verified (on
 * verified-token cache hits too). The check is an in-memory lookup; a shared implementation
 * (`@bearerkit/redis`) keeps a local copy that every change reaches by push, on every instance.
 *
 * Failure semantics: `isRevoked` is a security decision. When the local copy cannot be trusted
 * (not loaded yet, or out of touch with the shared list for longer than its allowed staleness)
 * it throws `VerifierUnavailableError` (503), never answers `false`. `revoke` rejects when the
 * revocation could not be recorded: the caller must know it did not happen.
 */
export interface RevocationList {
  /**
   * Whether `token` is revoked. Synchronous: a lookup in the local copy. Throws
   * `VerifierUnavailableError` (reason `store_stale`) when the copy cannot be trusted.
   */
  isRevoked(token: AccessToken): boolean
  /** Records a revocation and tells every instance. */
  revoke(revocation: Revocation, options?: StoreCallOptions): void | Promise<void>
  /** Calls `listener` on every change, made here or on another instance; returns an unsubscribe. */
  subscribe(listener: (revocation: Revocation) => void): () => void
}

/** Options of {@link createMemoryRevocationList}. */
export interface MemoryRevocationListOptions {
  /**
   * Most entries held (default 100,000). A full list refuses new revocations (it never forgets
   * an unexpired one to make room): `revoke` throws `VerifierUnavailableError`
   * (`revocation_list_full`).
   */
  max?: number
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

/**
 * A bounded in-memory {@link RevocationList} for one process.
 *
 * @example
 * ```ts
 * const revocations = createMemoryRevocationList()
 * await revokeSubject(revocations, { issuer: 'https://login.example.com/', subject: 'alice' })
 * ```
 */
export function createMemoryRevocationList(
  options: MemoryRevocationListOptions = {},
): RevocationList {
  const max = readInteger('options.max', options.max, 100_000, 1)
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalidArgument('options.now', 'must be a function returning milliseconds')
  }
  const now = options.now ?? Date.now
  const copy = createRevocationSet()
  const listeners = new Set<(revocation: Revocation) => void>()
  return {
    isRevoked: (token) => copy.matches(token, now()),
    revoke(input) {
      const revocation = readRevocation('revocation', input)
      if (copy.size >= max && copy.prune(now()) >= max) {
        throw new VerifierUnavailableError('The revocation list is full', {
          reason: 'revocation_list_full',
          retryAfter: 1,
        })
      }
      // Listeners hear of changes only (a repeated revocation changes nothing).
      if (!copy.add(revocation)) return
      for (const listener of listeners) listener(revocation)
    },
    subscribe(listener) {
      if (typeof listener !== 'function') throw invalidArgument('listener', 'must be a function')
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
  }
}

/** A {@link RevocationList} whose answers are checked. */
export interface GuardedRevocationList {
  /** As {@link RevocationList.isRevoked}; any failure or non-boolean answer throws a 503 error. */
  isRevoked(token: AccessToken): boolean
  /** As {@link RevocationList.revoke}, with a deadline; failures reject with a 503 error. */
  revoke(revocation: Revocation, options?: StoreCallOptions): Promise<void>
  subscribe(listener: (revocation: Revocation) => void): () => void
}

/**
 * Wraps any {@link RevocationList} so that it fails closed: `isRevoked` throwing anything, or
 * answering anything but a boolean (a Promise included: the check must be a local lookup), is a
 * `VerifierUnavailableError` (503); `revoke` gets a deadline. The memory and Redis lists need no
 * guard; lists from elsewhere do, and the verifiers apply it.
 *
 * @example
 * ```ts
 * const revocations = guardRevocationList(myList)
 * if (revocations.isRevoked(accessToken)) return refuse('revoked')
 * ```
 */
export function guardRevocationList(
  list: RevocationList,
  options: StoreGuardOptions = {},
): GuardedRevocationList {
  for (const method of ['isRevoked', 'revoke', 'subscribe'] as const) {
    if (typeof list?.[method] !== 'function') {
      throw invalidArgument(
        'revocations',
        'must be a RevocationList (isRevoked, revoke, subscribe)',
      )
    }
  }
  const timeout = readStoreTimeout('options.timeout', options.timeout)
  return {
    isRevoked(token) {
      let answer: unknown
      try {
        answer = list.isRevoked(token)
      } catch (error) {
        if (isVerifierUnavailable(error)) throw error
        publishStoreEvent({ store: 'revocation', event: 'failure', reason: 'store_error' })
        throw storeUnavailable('revocation', 'store_error', error)
      }
      if (typeof answer !== 'boolean') throw invalidStoreAnswer('revocation')
      return answer
    },
    async revoke(revocation, callOptions) {
      const checked = readRevocation('revocation', revocation)
      await callStore('revocation', (signal) => list.revoke(checked, { signal }), {
        timeout,
        signal: callOptions?.signal,
      })
    },
    subscribe: (listener) => list.subscribe(listener),
  }
}
