import { ACCESS_TOKEN_PROTOTYPE, Refusal, type AccessToken } from './access-token.js'
import { invalidArgument } from './errors.js'
import { parseScopes } from './scopes.js'

/**
 * Where to find each `AccessToken` field among the claims. Each entry lists claim names tried in
 * order; the first present one wins.
 */
export interface ClaimMapping {
  /** Default `['client_id', 'azp', 'cid', 'appid']` (RFC 9068, OpenID, Okta, Entra ID). */
  clientId?: readonly string[] | undefined
  /** Default `['scope', 'scp']` (space-separated string or array). */
  scopes?: readonly string[] | undefined
  /** Default `['sub']`. */
  subject?: readonly string[] | undefined
}

/** The default {@link ClaimMapping}, fitted to the big issuers. */
export const DEFAULT_CLAIM_MAPPING: Readonly<Required<ClaimMapping>> = Object.freeze({
  clientId: Object.freeze(['client_id', 'azp', 'cid', 'appid']),
  scopes: Object.freeze(['scope', 'scp']),
  subject: Object.freeze(['sub']),
})

/**
 * Validates a user's {@link ClaimMapping} and fills in defaults.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the option at fault.
 */
export function resolveClaimMapping(
  mapping: ClaimMapping | undefined,
  option = 'options.claims',
): Readonly<Required<ClaimMapping>> {
  if (mapping === undefined) return DEFAULT_CLAIM_MAPPING
  if (typeof mapping !== 'object' || mapping === null) {
    throw invalidArgument(option, 'must be an object')
  }
  const pick = (key: keyof ClaimMapping): readonly string[] => {
    const names = mapping[key]
    if (names === undefined) return DEFAULT_CLAIM_MAPPING[key]
    if (
      !Array.isArray(names) ||
      names.length === 0 ||
      !names.every((n) => typeof n === 'string' && n !== '')
    ) {
      throw invalidArgument(`${option}.${key}`, 'must be a non-empty array of claim names')
    }
    return Object.freeze([...(names as string[])])
  }
  return Object.freeze({
    clientId: pick('clientId'),
    scopes: pick('scopes'),
    subject: pick('subject'),
  })
}

function first(claims: Record<string, unknown>, names: readonly string[]): unknown {
  // An indexed loop: V8 does not inline the iterator of these frozen arrays.
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string
    // Own claims only: a mapping naming `constructor` must not read Object.prototype's.
    if (!Object.hasOwn(claims, name)) continue
    const value = claims[name]
    if (value !== undefined && value !== null) return value
  }
  return undefined
}

// The prototype of every claims object: empty, frozen, itself without a prototype. An object made
// with Object.create(null) is kept in V8's slow dictionary mode, which made the copy cost four
// times as much; one shared empty prototype keeps the copy a fast object and inherits nothing.
const NOTHING: object = Object.freeze(Object.create(null) as object)

/**
 * Copies claims into a frozen object that inherits nothing (its prototype is an empty, frozen
 * object without a prototype), so that `__proto__` or `constructor` claims are plain data, no
 * `Object.prototype` member shows through, and nothing can reach `Object.prototype`.
 *
 * Nested objects and arrays (`cnf`, `authorization_details`, `act` ...) are frozen too, in place
 * and not copied: the top level is a copy, but a nested value is the caller's own object, which is
 * frozen from then on. An `AccessToken` may be handed to many requests (a cache hit), so no
 * request may change what another one sees. Claims of primitive values only cost one pass over
 * the keys. Typed arrays are not JSON and cannot be frozen; they are refused with a `TypeError`.
 *
 * @example
 * ```ts
 * const claims = safeClaims(JSON.parse('{"__proto__":{"admin":true},"sub":"u1"}'))
 * claims.admin // undefined; Object.hasOwn(claims, '__proto__') === true
 * 'constructor' in claims // false
 * Object.isFrozen(safeClaims({ cnf: { jkt: 'x' } }).cnf) // true
 * ```
 */
export function safeClaims(claims: Record<string, unknown>): Readonly<Record<string, unknown>> {
  // Object.prototype is not in the target's chain, so assigning `__proto__` creates an own data
  // property (there is no accessor to call), and freezing makes every property read-only.
  const copy = Object.assign(Object.create(NOTHING) as Record<string, unknown>, claims)
  // The prototype chain is empty, so for-in sees own enumerable properties only.
  let seen: Set<object> | undefined
  for (const name in copy) {
    const value = copy[name]
    if (typeof value === 'object' && value !== null) deepFreeze(value, (seen ??= new Set()))
  }
  return Object.freeze(copy)
}

/**
 * Freezes `root` and everything reachable from it, without recursion (a deeply nested answer
 * cannot exhaust the stack) and visiting each object once (cycles end). Objects already frozen
 * are still walked: `Object.freeze` is shallow, and a frozen object may hold a mutable one.
 */
function deepFreeze(root: object, seen: Set<object>): void {
  const pending: object[] = [root]
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (seen.has(next)) continue
    seen.add(next)
    if (ArrayBuffer.isView(next)) {
      throw invalidArgument('claims', 'must be JSON values (a typed array cannot be frozen)')
    }
    Object.freeze(next)
    for (const value of Object.values(next)) {
      if (typeof value === 'object' && value !== null) pending.push(value as object)
    }
  }
}

// AccessTokens built here are frozen all the way down, so a cache may keep them without a copy.
// Their mark is a private field, installed on the token through a base constructor that returns
// its argument: no key, no symbol, invisible to deep equality and reflection, never copied by a
// spread or Object.assign (a copy a custom verifier goes on changing is never taken for sealed),
// and impossible to forge outside this module. A WeakSet did the same for about 200 ns more per
// verification (an entry per token for the collector to track); the field costs nothing measurable.
class Adopt {
  constructor(target: object) {
    return target
  }
}

class SealMark extends Adopt {
  readonly #sealed = true

  static has(value: object): boolean {
    return #sealed in value
  }
}

function seal(token: Mutable<AccessToken>): AccessToken {
  new SealMark(token)
  return Object.freeze(token)
}

/**
 * An AccessToken that no one can change, for a cache to hand to many requests: `token` itself
 * when it was built by {@link accessTokenFromClaims}, otherwise a frozen copy with deep-frozen
 * claims (a custom verifier may return an object it goes on changing).
 *
 * @internal Not exported from the package.
 */
export function immutableAccessToken(token: AccessToken): AccessToken {
  if (SealMark.has(token)) return token
  // On the shared prototype, so that a custom verifier's token gets the safe JSON and inspect
  // forms too once it went through a cache.
  const copy: Mutable<AccessToken> = Object.assign(
    Object.create(ACCESS_TOKEN_PROTOTYPE) as Mutable<AccessToken>,
    token,
  )
  copy.scopes = Object.freeze([...token.scopes])
  if (token.audience !== undefined) copy.audience = Object.freeze([...token.audience])
  copy.claims = safeClaims(token.claims)
  // The confirmation is the one in the claims, whatever the verifier put beside them: the cache
  // checks the claim on every hit.
  const cnf = copy.claims.cnf
  if (typeof cnf === 'object' && cnf !== null && !Array.isArray(cnf)) copy.cnf = cnf
  else delete copy.cnf
  return seal(copy)
}

/**
 * Builds a complete {@link AccessToken} from verified claims, or a {@link Refusal} when a claim has
 * the wrong type (`exp` that is not a number, `aud` that is neither a string nor an array of
 * strings ...) or no client id can be found. Type checks only: expiry, issuer and audience
 * decisions belong to the verifier.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-2.2 RFC 9068 §2.2
 */
export function accessTokenFromClaims(
  token: string,
  claims: Record<string, unknown>,
  mapping: Readonly<Required<ClaimMapping>> = DEFAULT_CLAIM_MAPPING,
): AccessToken | Refusal {
  const clientId = first(claims, mapping.clientId)
  if (clientId === undefined)
    return new Refusal('missing_claim', 'The access token names no client')
  if (typeof clientId !== 'string' || clientId === '') {
    return new Refusal('invalid_claim', 'The access token client id is not a string')
  }
  const exp = claims.exp
  if (exp !== undefined && (typeof exp !== 'number' || !Number.isFinite(exp))) {
    return new Refusal('invalid_claim', 'The access token exp claim is not a number')
  }
  const sub = first(claims, mapping.subject)
  if (sub !== undefined && typeof sub !== 'string') {
    return new Refusal('invalid_claim', 'The access token subject is not a string')
  }
  const iss = claims.iss
  if (iss !== undefined && typeof iss !== 'string') {
    return new Refusal('invalid_claim', 'The access token iss claim is not a string')
  }
  const aud = claims.aud
  let audience: readonly string[] | undefined
  if (typeof aud === 'string' && aud === lastAudience.claim) {
    audience = lastAudience.value
  } else {
    const list = normalizeAudience(aud)
    if (list === false) {
      return new Refusal('invalid_claim', 'The access token aud claim is not a string or an array')
    }
    audience = list === undefined ? undefined : Object.freeze(list)
    if (typeof aud === 'string') lastAudience = { claim: aud, value: audience as readonly string[] }
  }
  const scopeClaim = first(claims, mapping.scopes)
  let scopes: readonly string[]
  if (typeof scopeClaim === 'string' && scopeClaim === lastScopes.claim) {
    scopes = lastScopes.value
  } else {
    scopes = Object.freeze(parseScopes(scopeClaim))
    if (typeof scopeClaim === 'string') lastScopes = { claim: scopeClaim, value: scopes }
  }
  const resource = claims.resource
  // Built field by field rather than with conditional spreads: no temporary objects, and the few
  // shapes the result can take stay the same from token to token.
  const accessToken = new AccessTokenRecord(token, clientId, scopes)
  if (exp !== undefined) accessToken.expiresAt = exp
  if (sub !== undefined && sub !== '') accessToken.subject = sub
  if (iss !== undefined) accessToken.issuer = iss
  if (audience !== undefined) accessToken.audience = audience
  if (typeof resource === 'string') accessToken.resource = resource
  accessToken.claims = safeClaims(claims)
  // RFC 7800 §3.1: the confirmation is an object; its members are the verifier's to check.
  const cnf = accessToken.claims.cnf
  if (typeof cnf === 'object' && cnf !== null && !Array.isArray(cnf)) {
    accessToken.cnf = cnf
  }
  return seal(accessToken)
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** A claim in its text form and what it maps to, frozen. */
interface Mapped {
  readonly claim: string | undefined
  readonly value: readonly string[]
}

// The audience and scopes of the last token built from a string `aud` and a string scope claim.
// The tokens of one client carry the same ones over and over, and a frozen array can be shared by
// every token that has them: a string comparison instead of a split, a check of every scope, a
// new array and a freeze. Only synchronous code runs between reading and writing these.
let lastAudience: Mapped = { claim: undefined, value: Object.freeze([]) }
let lastScopes: Mapped = { claim: undefined, value: Object.freeze([]) }

/**
 * Makes the AccessTokens of {@link accessTokenFromClaims}: on one shared prototype whose
 * non-enumerable toJSON and util.inspect hook show a fingerprint instead of the token (no closure
 * and no extra own key per token). A constructor rather than `Object.create`: V8 sizes the objects
 * of a constructor to hold their fields in place.
 */
const AccessTokenRecord = function AccessTokenRecord(
  this: Mutable<AccessToken>,
  token: string,
  clientId: string,
  scopes: readonly string[],
) {
  this.token = token
  this.clientId = clientId
  this.scopes = scopes
} as unknown as new (
  token: string,
  clientId: string,
  scopes: readonly string[],
) => Mutable<AccessToken>
AccessTokenRecord.prototype = ACCESS_TOKEN_PROTOTYPE as Mutable<AccessToken>

/**
 * An `aud` claim as an array: a string becomes a one-element array, an array of strings stays,
 * `undefined` stays `undefined`, anything else (objects, numbers, mixed arrays) is `false`.
 */
export function normalizeAudience(aud: unknown): string[] | undefined | false {
  if (aud === undefined) return undefined
  if (typeof aud === 'string') return [aud]
  if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) return [...aud]
  return false
}
