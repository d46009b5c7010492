import { hash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import {
  Refusal,
  type AccessToken,
  type TokenVerifier,
  type VerifyOptions,
} from './access-token.js'
import { raceAbort } from './abort.js'
import { defineVerifier } from './define-verifier.js'
import { invalidArgument } from './errors.js'

/** Options of {@link createCachedVerifier}. */
export interface CachedVerifierOptions {
  /** Most entries held; the least recently used go first. Default 10,000. */
  max?: number
  /** Longest an accepted token is cached, in seconds. Never beyond the token's `exp`. Default 300. */
  ttl?: number
  /**
   * How long a refused token is remembered, in seconds. Default 0 (refusals are not cached).
   * Keep it short: a refusal cached for long turns a transient mistake into a lasting one.
   */
  negativeTtl?: number
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

/** A {@link TokenVerifier} with a verified-token cache in front. */
export interface CachedVerifier extends TokenVerifier {
  /** Number of entries held now (live or not yet evicted). */
  readonly size: number
  /** Drops every entry (after a key compromise, say). */
  clear(): void
}

interface Entry {
  readonly accessToken: AccessToken | null
  readonly refusal: Refusal | null
  /** Milliseconds since the epoch after which the entry is dead. */
  readonly until: number
}

/** Hash used as the cache key: SHA-256, base64url. The raw token is never a key. */
export function tokenCacheKey(token: string): string {
  return hash('sha256', token, 'base64url')
}

function checkSeconds(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidArgument(option, 'must be a finite number of seconds >= 0')
  }
  return value
}

/**
 * Puts a bounded, hash-keyed cache of verification results in front of any verifier.
 *
 * - keys are SHA-256 hashes of tokens, never tokens;
 * - at most `max` entries (lru-cache);
 * - an entry lives `ttl` seconds but never past the token's `exp`, and `exp` is checked again on
 *   every hit against the injected clock;
 * - concurrent verifications of one new token make one call to the inner verifier;
 * - `VerifierUnavailableError` is never cached; refusals only when `negativeTtl` > 0.
 *
 * What a cache cannot see: a token revoked, or a key removed from a JWKS, after the result was
 * cached keeps being accepted until the entry dies. Choose `ttl` with that in mind.
 *
 * @example
 * ```ts
 * const verifier = createCachedVerifier(createJwtVerifier(options), { ttl: 60 })
 * ```
 */
export function createCachedVerifier(
  verifier: TokenVerifier,
  options: CachedVerifierOptions = {},
): CachedVerifier {
  if (typeof verifier?.verifyToken !== 'function') {
    throw invalidArgument('verifier', 'must be a TokenVerifier (an object with verifyToken)')
  }
  const max = options.max ?? 10_000
  if (!Number.isSafeInteger(max) || max < 1) {
    throw invalidArgument('options.max', 'must be a positive integer')
  }
  const ttl = checkSeconds('options.ttl', options.ttl, 300) * 1000
  const negativeTtl = checkSeconds('options.negativeTtl', options.negativeTtl, 0) * 1000
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalidArgument('options.now', 'must be a function returning milliseconds')
  }
  const now = options.now ?? Date.now
  const cache = new LRUCache<string, Entry>({ max })
  const inFlight = new Map<string, Promise<Entry>>()
  // Bumped by clear(): a load that started before it neither stores its result nor is joined.
  let generation = 0

  const load = async (key: string, token: string, started: number): Promise<Entry> => {
    let refusal: Refusal | null = null
    const accessToken = await verifier.verifyToken(token, {
      onRefusal: (r) => {
        refusal = r
      },
    })
    const at = now()
    if (accessToken === null) {
      const entry: Entry = {
        accessToken: null,
        refusal: refusal ?? new Refusal('rejected', 'The access token is invalid'),
        until: at + negativeTtl,
      }
      if (negativeTtl > 0 && started === generation) cache.set(key, entry)
      return entry
    }
    let until = at + ttl
    if (accessToken.expiresAt !== undefined) until = Math.min(until, accessToken.expiresAt * 1000)
    const entry: Entry = { accessToken, refusal: null, until }
    if (until > at && started === generation) cache.set(key, entry)
    return entry
  }

  const settle = (entry: Entry, token: string, at: number): AccessToken | Refusal => {
    const accessToken = entry.accessToken
    if (accessToken === null) return entry.refusal as Refusal
    // A hash collision is astronomically unlikely; comparing costs nothing and makes it impossible.
    if (accessToken.token !== token) return new Refusal('rejected', 'The access token is invalid')
    if (accessToken.expiresAt !== undefined && accessToken.expiresAt * 1000 <= at) {
      return new Refusal('expired', 'The access token has expired')
    }
    return accessToken
  }

  // A hit answers synchronously, so defineVerifier settles it without a microtask round.
  const check = (
    token: string,
    opts: VerifyOptions,
  ): AccessToken | Refusal | Promise<AccessToken | Refusal> => {
    const key = tokenCacheKey(token)
    const hit = cache.get(key)
    if (hit !== undefined) {
      const at = now()
      if (at < hit.until) return settle(hit, token, at)
      cache.delete(key)
    }
    let pending = inFlight.get(key)
    if (pending === undefined) {
      const loading = load(key, token, generation).finally(() => {
        if (inFlight.get(key) === loading) inFlight.delete(key)
      })
      pending = loading
      inFlight.set(key, loading)
    }
    // Each caller may give up on a shared load without cancelling it for the others.
    return raceAbort(pending, opts.signal).then((entry) => settle(entry, token, now()))
  }

  const inner = defineVerifier('cache', check)
  return {
    verifyToken: (token, verifyOptions) => inner.verifyToken(token, verifyOptions),
    get size() {
      return cache.size
    },
    clear() {
      generation++
      cache.clear()
      inFlight.clear()
    },
  }
}
