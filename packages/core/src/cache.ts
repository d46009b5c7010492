import { hash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import {
  Refusal,
  type AccessToken,
  type TokenVerifier,
  type Validity,
  type VerifyOptions,
} from './access-token.js'
import { raceAbort } from './abort.js'
import { immutableAccessToken } from './claims.js'
import { TokenKey } from './scanned-token.js'
import { checkConfirmation, type SenderConstraintContext } from './confirmation.js'
import { answerNowWith, defineVerifier, isPromiseLike, verifyTokenNow } from './define-verifier.js'
import { VerifierUnavailableError, invalidArgument } from './errors.js'
import {
  readFunction,
  readInteger,
  readNumber,
  readOptionsObject,
  rejectUnknownOptions,
} from './options.js'
import { guardRevocationList, type RevocationList } from './stores/revocation-list.js'

const REVOKED = new Refusal('revoked', 'The access token has been revoked')

function checkSeconds(option: string, value: unknown, fallback: number): number {
  return readNumber(option, value, fallback, 0)
}

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
  /**
   * Clock skew the inner verifier allows on the token's `exp` and `nbf`, in seconds. Default 0.
   * Set it to the inner verifier's own tolerance, so that a hit is served exactly when the
   * inner verifier would accept (`createVerifier` does it for a jwt verifier).
   */
  clockTolerance?: number
  /**
   * A revocation list consulted on every answer, hits included (a local lookup: see core's
   * `RevocationList`). A revoked token is refused (`revoked`); a list that cannot be trusted
   * makes the verification a 503, never an acceptance. Default none.
   */
  revocations?: RevocationList
}

/** A {@link TokenVerifier} with a verified-token cache in front. */
export interface CachedVerifier extends TokenVerifier {
  /** Number of entries held now (live or not yet evicted). */
  readonly size: number
  /** Drops every entry (after a key compromise, say). */
  clear(): void
}

interface Entry {
  /** The token the entry answers for: a key match is a hit only when it is this token. */
  readonly token: string
  readonly accessToken: AccessToken | null
  readonly refusal: Refusal | null
  /** Milliseconds since the epoch before which the entry is not served (a miss, not a refusal). */
  readonly from: number
  /** Milliseconds since the epoch from which the entry is dead. */
  readonly until: number
  /** The token's own window, in seconds, passed on to a caller that asks (`onValidity`). */
  readonly validity: Validity
}

/**
 * SHA-256 of `token`, base64url: the key of a token in a cache a fleet shares (the same in every
 * process), so the raw token is never a key. An in-process cache uses {@link processTokenKey}.
 */
export function tokenCacheKey(token: string): string {
  return hash('sha256', token, 'base64url')
}

const OPTIONS = ['max', 'ttl', 'negativeTtl', 'now', 'clockTolerance', 'revocations'] as const

/** Collects the bounds an inner verifier reports; the tightest win, and garbage poisons them. */
class Bounds {
  notBefore = -Infinity
  validUntil = Infinity
  broken = false

  readonly report = (validity: Validity): void => {
    const given = validity as { notBefore?: unknown; validUntil?: unknown } | null
    const notBefore = given?.notBefore
    const validUntil = given?.validUntil
    // A bound the cache cannot read is a bound it cannot keep: the answer is then not cached.
    if (typeof given !== 'object' || given === null || !isTime(notBefore) || !isTime(validUntil)) {
      this.broken = true
      return
    }
    if (notBefore !== undefined) this.notBefore = Math.max(this.notBefore, notBefore)
    if (validUntil !== undefined) this.validUntil = Math.min(this.validUntil, validUntil)
  }
}

function isTime(value: unknown): value is number | undefined {
  return value === undefined || (typeof value === 'number' && !Number.isNaN(value))
}

// The inner verifier is user code: an answer that is not an AccessToken is not a decision.
function isAccessToken(value: unknown): value is AccessToken {
  const at = value as Partial<AccessToken> | null
  return (
    typeof at === 'object' &&
    at !== null &&
    typeof at.token === 'string' &&
    typeof at.clientId === 'string' &&
    Array.isArray(at.scopes) &&
    typeof at.claims === 'object' &&
    at.claims !== null &&
    (at.expiresAt === undefined || typeof at.expiresAt === 'number') &&
    (at.audience === undefined || Array.isArray(at.audience))
  )
}

/**
 * Puts a bounded, hash-keyed cache of verification results in front of any verifier.
 *
 * - keys are 128-bit hashes of tokens keyed with a per-process secret, never tokens, and a key
 *   match is a hit only for the very token the entry was made for; each cache is its own, so two
 *   verifiers (another audience, another issuer) never share an answer;
 * - at most `max` entries (lru-cache);
 * - a hit is served only inside the token's window: never before its `nbf` or before the
 *   `notBefore` the inner verifier reports, never from min(`exp`, the reported `validUntil`,
 *   insertion + `ttl`) on, and never when the clock reads earlier than the insertion. Every bound
 *   the inner verifier enforces beyond `exp` and `nbf` (a maximum token age) must be reported
 *   through {@link VerifyOptions.onValidity}; the cache cannot guess it;
 * - a hit is an AccessToken frozen all the way down, so no request can change what another sees;
 * - concurrent verifications of one new token make one call to the inner verifier;
 * - `VerifierUnavailableError` is never cached; refusals only when `negativeTtl` > 0; an answer
 *   that is not an AccessToken rejects with `VerifierUnavailableError` (`invalid_response`).
 *
 * What a cache cannot see: a token revoked, or a key removed from a JWKS, after the result was
 * cached keeps being accepted until the entry dies. Choose `ttl` with that in mind.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the option at fault, unknown ones included.
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
  const given = readOptionsObject('options', options)
  rejectUnknownOptions('options', given, OPTIONS)
  const max = readInteger('options.max', given.max, 10_000, 1)
  const ttl = checkSeconds('options.ttl', given.ttl, 300) * 1000
  const negativeTtl = checkSeconds('options.negativeTtl', given.negativeTtl, 0) * 1000
  const now = readFunction<() => number>('options.now', given.now) ?? Date.now
  const tolerance = checkSeconds('options.clockTolerance', given.clockTolerance, 0)
  const revocations =
    given.revocations === undefined
      ? undefined
      : guardRevocationList(given.revocations as RevocationList)
  const cache = new LRUCache<string, Entry>({ max })
  const inFlight = new Map<string, Promise<Entry>>()
  // Bumped by clear(): a load that started before it neither stores its result nor is joined.
  let generation = 0

  // Asks the inner verifier and turns its answer into an entry (stored when it may be). At once
  // when the inner verifier answers at once (a JWT with a static key): a miss then costs no
  // promise either, and nothing can join a load that is already over. Throws, or rejects, where
  // the inner verifier does.
  const load = (
    key: string,
    token: string,
    started: number,
    senderConstraint: SenderConstraintContext | undefined,
  ): Entry | Promise<Entry> => {
    const outcome = { refusal: null as Refusal | null, bounds: new Bounds() }
    const answer = verifyTokenNow(verifier, token, {
      onRefusal: (r) => {
        outcome.refusal = r
      },
      onValidity: outcome.bounds.report,
      // The inner verifier checks the binding for this caller; the answer is kept for everyone
      // and every hit checks the binding again for its own caller (settle).
      ...(senderConstraint === undefined ? {} : { senderConstraint }),
    })
    // `null` is a refusal; a promise (or any thenable) is an answer to wait for.
    return answer !== null && answer !== undefined && isPromiseLike(answer)
      ? Promise.resolve(answer).then((given) =>
          store(key, token, started, given, outcome.refusal, outcome.bounds),
        )
      : store(key, token, started, answer, outcome.refusal, outcome.bounds)
  }

  const store = (
    key: string,
    token: string,
    started: number,
    answer: unknown,
    refusal: Refusal | null,
    bounds: Bounds,
  ): Entry => {
    const at = now()
    if (answer === null) {
      const entry: Entry = {
        token,
        accessToken: null,
        refusal: refusal ?? new Refusal('rejected', 'The access token is invalid'),
        from: at,
        until: at + negativeTtl,
        validity: {},
      }
      // A refusal for want of the right proof says nothing about the next caller's proof.
      if (
        negativeTtl > 0 &&
        started === generation &&
        (entry.refusal as Refusal).code !== 'sender_constrained'
      ) {
        cache.set(key, entry)
      }
      return entry
    }
    if (!isAccessToken(answer)) {
      throw new VerifierUnavailableError('The inner verifier answered with no AccessToken', {
        reason: 'invalid_response',
      })
    }
    const accessToken = immutableAccessToken(answer)
    // RFC 7519 §4.1.4 and §4.1.5 allow "some small leeway" on exp and nbf: the inner verifier's.
    const nbf = accessToken.claims.nbf
    let notBefore = bounds.notBefore
    if (typeof nbf === 'number' && nbf - tolerance > notBefore) notBefore = nbf - tolerance
    let validUntil = bounds.validUntil
    const expiresAt = accessToken.expiresAt
    if (expiresAt !== undefined && expiresAt + tolerance < validUntil) {
      validUntil = expiresAt + tolerance
    }
    // Built with assignments, not two conditional spreads: V8 (Node 20) takes a slow path for an
    // object literal with a spread followed by more, about a microsecond per miss.
    const bounded: { notBefore?: number; validUntil?: number } = {}
    if (notBefore !== -Infinity) bounded.notBefore = notBefore
    if (validUntil !== Infinity) bounded.validUntil = validUntil
    const validity: Validity = Object.freeze(bounded)
    const entry: Entry = {
      token,
      accessToken,
      refusal: null,
      from: Math.max(at, notBefore * 1000),
      until: Math.min(at + ttl, validUntil * 1000),
      validity,
    }
    if (!bounds.broken && entry.from < entry.until && started === generation) {
      cache.set(key, entry)
    }
    return entry
  }

  const settle = (
    entry: Entry,
    token: string,
    at: number,
    opts: VerifyOptions,
  ): AccessToken | Refusal => {
    const accessToken = entry.accessToken
    if (accessToken === null) return entry.refusal as Refusal
    // A hash collision is astronomically unlikely; comparing costs nothing and makes it impossible.
    if (accessToken.token !== token) return new Refusal('rejected', 'The access token is invalid')
    // RFC 9449 §7 / RFC 8705 §3: a bound token is served only to a caller with the matching proof,
    // on a hit as on a miss; without a proof context it is refused.
    if (accessToken.claims.cnf !== undefined) {
      const unbound = checkConfirmation(accessToken.claims.cnf, opts.senderConstraint)
      if (unbound !== null) return unbound
    }
    if (accessToken.expiresAt !== undefined && (accessToken.expiresAt + tolerance) * 1000 <= at) {
      return new Refusal('expired', 'The access token has expired')
    }
    // A hit keeps every bound the uncached path has, revocation included (a local lookup that
    // throws a 503 when the list cannot be trusted).
    if (revocations?.isRevoked(accessToken) === true) return REVOKED
    // A cache (or composite) in front of this one learns the window too.
    opts.onValidity?.(entry.validity)
    return accessToken
  }

  // A hit answers synchronously, so defineVerifier settles it without a microtask round.
  const check = (
    token: string,
    opts: VerifyOptions,
  ): AccessToken | Refusal | Promise<AccessToken | Refusal> => {
    // The key the gate computed while it checked the token's syntax, or the token's own.
    const key = TokenKey.of(token, opts.tokenKey)
    const hit = cache.get(key)
    // Another token under the same key (a collision, never seen in practice) is a miss, and
    // outside [from, until) the entry says nothing: the inner verifier decides again.
    if (hit !== undefined && hit.token === token) {
      const at = now()
      if (at >= hit.from && at < hit.until) return settle(hit, token, at, opts)
      cache.delete(key)
    }
    // Callers share a load only with callers of the same proof context: the inner verifier's
    // refusal of one caller's proof must not become another's.
    const context = opts.senderConstraint
    const flight =
      context === undefined
        ? key
        : `${key} ${context.dpopJkt ?? ''} ${context.certificateThumbprint ?? ''}`
    let pending = inFlight.get(flight)
    if (pending === undefined) {
      const loaded = load(key, token, generation, context)
      // Answered at once: settled now, without a promise.
      if (!isPromiseLike(loaded)) return settle(loaded, token, now(), opts)
      const loading = loaded.finally(() => {
        if (inFlight.get(flight) === loading) inFlight.delete(flight)
      })
      pending = loading
      inFlight.set(flight, loading)
    }
    // Each caller may give up on a shared load without cancelling it for the others. A load of
    // another token under the same key is not joined: this token gets a load of its own.
    return raceAbort(pending, opts.signal).then((entry) =>
      entry.token === token
        ? settle(entry, token, now(), opts)
        : Promise.resolve(load(key, token, generation, context)).then((own) =>
            settle(own, token, now(), opts),
          ),
    )
  }

  const inner = defineVerifier('cache', check)
  const verifyToken: TokenVerifier['verifyToken'] = (token, verifyOptions) =>
    inner.verifyToken(token, verifyOptions)
  // A hit answers at once through verifyTokenNow too (the HTTP gate's way).
  answerNowWith(verifyToken, (token, verifyOptions) => verifyTokenNow(inner, token, verifyOptions))
  return {
    verifyToken,
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
