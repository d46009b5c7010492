import { Refusal, type AccessToken } from './access-token.js'
import { invalidArgument } from './errors.js'
import { parseScopes } from './scopes.js'

/**
 * Where to find each `AccessToken` field among the claims. Each entry lists claim names tried in
 * order; the first present one wins.
 */
export interface ClaimMapping {
  /** Default `['client_id', 'azp', 'cid', 'appid']` (RFC 9068, OpenID, Okta, Entra ID). */
  clientId?: readonly string[]
  /** Default `['scope', 'scp']` (space-separated string or array). */
  scopes?: readonly string[]
  /** Default `['sub']`. */
  subject?: readonly string[]
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
  for (const name of names) {
    // Own claims only: a mapping naming `constructor` must not read Object.prototype's.
    if (!Object.hasOwn(claims, name)) continue
    const value = claims[name]
    if (value !== undefined && value !== null) return value
  }
  return undefined
}

/**
 * Copies claims into a frozen object without a prototype, so that `__proto__` or `constructor`
 * claims are plain data and can never reach `Object.prototype`.
 */
export function safeClaims(claims: Record<string, unknown>): Readonly<Record<string, unknown>> {
  // On a prototype-free target, assigning `__proto__` creates an own data property (there is no
  // Object.prototype accessor to call), and freezing makes every property read-only. One assign
  // and one freeze cost a quarter of a defineProperty per claim, on every verified token.
  return Object.freeze(Object.assign(Object.create(null) as Record<string, unknown>, claims))
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
  const audience = normalizeAudience(claims.aud)
  if (audience === false) {
    return new Refusal('invalid_claim', 'The access token aud claim is not a string or an array')
  }
  const resource = claims.resource
  const scopeClaim = first(claims, mapping.scopes)
  return Object.freeze({
    token,
    clientId,
    scopes: Object.freeze(parseScopes(scopeClaim)),
    ...(exp === undefined ? {} : { expiresAt: exp }),
    ...(sub === undefined || sub === '' ? {} : { subject: sub }),
    ...(iss === undefined ? {} : { issuer: iss }),
    ...(audience === undefined ? {} : { audience: Object.freeze(audience) }),
    ...(typeof resource === 'string' ? { resource } : {}),
    claims: safeClaims(claims),
  })
}

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
