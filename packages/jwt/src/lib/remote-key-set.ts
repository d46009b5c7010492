import { performance } from 'node:perf_hooks'
import {
  VerifierUnavailableError,
  discoverAuthorizationServer,
  fetchJson,
  isVerifierUnavailable,
  raceAbort,
} from '@bearerkit/core'
import type { JwksTrigger } from '../jwks-events.js'
import { importJwk, isKid } from './import-key.js'
import { KeySet, type LookupMiss } from './key-set.js'
import { PreparedKey } from './prepared-key.js'
import { publishJwksEvent } from './publish.js'

/** Most keys accepted in one JWKS; a real one holds a handful. */
export const MAX_JWKS_KEYS = 100

/** Settings of a {@link RemoteKeySet}, all durations in milliseconds. */
export interface RemoteKeySetSettings {
  readonly jwksUri: URL | undefined
  /** Issuer whose metadata gives the `jwks_uri`, when `jwksUri` is not set. */
  readonly issuer: string
  readonly algorithms: readonly string[]
  readonly maxAge: number
  readonly cooldown: number
  readonly staleIfError: number
  readonly backoff: number
  readonly maxBackoff: number
  readonly timeout: number
  readonly maxBytes: number
  readonly now: () => number
  readonly fetch: typeof fetch | undefined
}

/**
 * A JWKS fetched from a URI (given, or found by discovery) and kept in memory.
 *
 * - The set is refreshed once it is `maxAge` old; callers wait for the refresh.
 * - A `kid` not in the set causes a refetch, at most once per `cooldown` (and never while backing
 *   off), so random `kid`s cannot make it hammer the endpoint; unknown `kid`s are never stored.
 * - All concurrent needs for a fetch share one request.
 * - After a failed fetch no new attempt is made for `backoff`, doubling per failure up to
 *   `maxBackoff` (or the upstream's `Retry-After`, when longer and still under `maxBackoff`).
 * - When a refresh fails, the last good set keeps being used for `staleIfError` past its max age,
 *   and a `stale` event says so; after that, verification is unavailable.
 * - With no usable set, every lookup throws `VerifierUnavailableError` with `reason` and
 *   `retryAfter`: never a refusal, never an acceptance.
 */
export class RemoteKeySet {
  readonly #settings: RemoteKeySetSettings
  #jwksUri: URL | undefined
  #set: KeySet | undefined
  #fetchedAt = 0
  #attemptedAt = Number.NEGATIVE_INFINITY
  #failures = 0
  #retryAt = 0
  #lastError = new VerifierUnavailableError('No JWKS has been fetched yet', { reason: 'no_key' })
  #pending: Promise<void> | undefined
  #closed = false
  readonly #controller = new AbortController()

  constructor(settings: RemoteKeySetSettings) {
    this.#settings = settings
    this.#jwksUri = settings.jwksUri
  }

  /** Fetches the set now unless a fresh one is held; rejects when none can be had. */
  async ready(): Promise<void> {
    this.#assertOpen()
    const now = this.#settings.now()
    if (this.#set !== undefined && now - this.#fetchedAt < this.#settings.maxAge) return
    await this.#refresh('ready', now)
    this.#assertOpen()
    if (this.#set === undefined) throw this.#unavailable()
  }

  /** Stops every pending fetch; later lookups throw `VerifierUnavailableError` (`closed`). */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#controller.abort(closedError())
  }

  /**
   * The answer of {@link lookup} when it needs no fetch and no wait: a fresh set and a known `kid`
   * (or a miss that a refetch would not change). `undefined` otherwise.
   */
  cached(kid: string | undefined, alg: string): readonly PreparedKey[] | LookupMiss | undefined {
    const set = this.#set
    if (set === undefined || this.#closed) return undefined
    if (this.#settings.now() - this.#fetchedAt >= this.#settings.maxAge) return undefined
    const found = set.lookup(kid, alg)
    return found === 'unknown_kid' ? undefined : found
  }

  /**
   * The keys that may verify a token with this `kid` and `alg`, or why there are none.
   *
   * @throws VerifierUnavailableError when no usable set can be had.
   */
  async lookup(
    kid: string | undefined,
    alg: string,
    signal: AbortSignal | undefined,
  ): Promise<readonly PreparedKey[] | LookupMiss> {
    this.#assertOpen()
    const { maxAge, staleIfError, cooldown, now } = this.#settings
    let set = this.#set
    if (set === undefined || now() - this.#fetchedAt >= maxAge) {
      await raceAbort(this.#refresh(set === undefined ? 'cold' : 'max_age', now()), signal)
      this.#assertOpen()
      set = this.#set
      // A failed refresh leaves the old set, which stays usable within the stale-if-error window.
      if (set === undefined || now() - this.#fetchedAt >= maxAge + staleIfError) {
        throw this.#unavailable()
      }
    }
    const found = set.lookup(kid, alg)
    if (found !== 'unknown_kid') return found
    // An unknown kid may be a key the issuer has just rotated in: refetch, but at most once per
    // cooldown, whether the last attempt succeeded or failed.
    const at = now()
    if (at - this.#attemptedAt >= cooldown) {
      await raceAbort(this.#refresh('unknown_kid', at), signal)
      this.#assertOpen()
    }
    // If the last attempt failed, the key may exist but cannot be had: that is not a refusal.
    if (this.#failures > 0) throw this.#unavailable()
    return (this.#set as KeySet).lookup(kid, alg)
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError()
  }

  #refresh(trigger: JwksTrigger, now: number): Promise<void> {
    if (this.#pending !== undefined) return this.#pending
    if (now < this.#retryAt) return Promise.resolve()
    this.#attemptedAt = now
    this.#pending = this.#load(trigger).finally(() => {
      this.#pending = undefined
    })
    return this.#pending
  }

  async #load(trigger: JwksTrigger): Promise<void> {
    const { timeout, maxBytes, now } = this.#settings
    const http = {
      timeout,
      maxBytes,
      signal: this.#controller.signal,
      ...(this.#settings.fetch === undefined ? {} : { fetch: this.#settings.fetch }),
    }
    const started = performance.now()
    let uri = this.#jwksUri
    try {
      if (uri === undefined) uri = await this.#discover(http)
      const document = await fetchJson(uri, 'JWKS request', http)
      const set = this.#parse(document, uri.href)
      this.#set = set
      this.#fetchedAt = now()
      this.#failures = 0
      this.#retryAt = 0
      const jwksUri = uri.href
      publishJwksEvent(() => ({
        type: 'fetched',
        jwksUri,
        trigger,
        keys: set.size,
        duration: performance.now() - started,
      }))
    } catch (error) {
      if (this.#closed) return
      this.#fail(error, trigger, uri?.href, performance.now() - started)
    }
  }

  #fail(error: unknown, trigger: JwksTrigger, jwksUri: string | undefined, duration: number): void {
    const { backoff, maxBackoff, maxAge, staleIfError, now, issuer } = this.#settings
    // Core's HTTP helpers fail with reasons; anything else (a misbehaving custom fetch) is
    // wrapped so that callers still get a VerifierUnavailableError with a reason.
    const failure =
      isVerifierUnavailable(error) && error.reason !== undefined
        ? error
        : new VerifierUnavailableError('JWKS request failed', { reason: 'network', cause: error })
    this.#failures += 1
    const exponential = Math.min(backoff * 2 ** Math.min(this.#failures - 1, 30), maxBackoff)
    const upstream = Math.min((failure.retryAfter ?? 0) * 1000, maxBackoff)
    const at = now()
    this.#retryAt = at + Math.max(exponential, upstream)
    this.#lastError = failure
    const retryAfter = this.#retryAfter()
    const where = jwksUri === undefined ? { issuer } : { jwksUri }
    publishJwksEvent(() => ({
      type: 'fetch_failed',
      ...where,
      trigger,
      reason: failure.reason,
      retryAfter,
      duration,
    }))
    const age = at - this.#fetchedAt
    if (this.#set !== undefined && age >= maxAge && age < maxAge + staleIfError) {
      publishJwksEvent(() => ({ type: 'stale', ...where, age: Math.floor(age / 1000), retryAfter }))
    }
  }

  async #discover(http: {
    timeout: number
    signal: AbortSignal
    fetch?: typeof fetch
  }): Promise<URL> {
    const issuer = this.#settings.issuer
    const metadata = await discoverAuthorizationServer(issuer, http)
    if (typeof metadata.jwks_uri !== 'string') {
      throw new VerifierUnavailableError('Authorization server metadata has no jwks_uri', {
        reason: 'invalid_response',
      })
    }
    const uri = new URL(metadata.jwks_uri)
    this.#jwksUri = uri
    publishJwksEvent(() => ({ type: 'discovered', issuer, jwksUri: uri.href }))
    return uri
  }

  // RFC 7517 §5: a JSON object whose `keys` member is an array of JWKs.
  #parse(document: unknown, jwksUri: string): KeySet {
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      throw invalidSet('The JWKS is not a JSON object')
    }
    const keys = (document as Record<string, unknown>).keys
    if (!Array.isArray(keys)) throw invalidSet('The JWKS has no keys array')
    if (keys.length > MAX_JWKS_KEYS) throw invalidSet('The JWKS holds too many keys')
    const prepared: PreparedKey[] = []
    for (const jwk of keys as unknown[]) {
      const result = importJwk(jwk, this.#settings.algorithms, false)
      if (result instanceof PreparedKey) {
        prepared.push(result)
        continue
      }
      // A set that publishes private key material is compromised or misconfigured: use none of it.
      if (result === 'private') throw invalidSet('The JWKS contains private key material')
      const kid = (jwk as { kid?: unknown } | null)?.kid
      publishJwksEvent(() => ({
        type: 'key_skipped',
        jwksUri,
        reason: result,
        ...(isKid(kid) ? { kid } : {}),
      }))
    }
    if (prepared.length === 0) {
      throw new VerifierUnavailableError('The JWKS holds no usable signature verification key', {
        reason: 'no_key',
      })
    }
    return new KeySet(prepared, false)
  }

  #retryAfter(): number {
    return Math.max(1, Math.ceil((this.#retryAt - this.#settings.now()) / 1000))
  }

  #unavailable(): VerifierUnavailableError {
    const last = this.#lastError
    return new VerifierUnavailableError(last.message, {
      reason: last.reason as string,
      retryAfter: this.#retryAfter(),
      cause: last,
    })
  }
}

function invalidSet(message: string): VerifierUnavailableError {
  return new VerifierUnavailableError(message, { reason: 'invalid_response' })
}

/** The error of a resolver used after `close()`. */
export function closedError(): VerifierUnavailableError {
  return new VerifierUnavailableError('The JWT verifier is closed', { reason: 'closed' })
}
