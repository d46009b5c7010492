import {
  DEFAULT_CLAIM_MAPPING,
  Refusal,
  accessTokenFromClaims,
  checkConfirmation,
  formatScopes,
  isScopeToken,
  missingScopes,
  normalizeAudience,
  parseScopes,
  readClock,
  type AccessToken,
  type SenderConstraintContext,
} from '@bearerkit/core'
import { comparableAudience } from './audience.js'
import type { ResolvedOptions } from './options.js'

/** Why a record handed over by a provider (or an MCP SDK verifier) cannot be used. */
export class RecordProblem {
  readonly message: string
  constructor(message: string) {
    this.message = message
  }
}

/** Plain data object (not an array, not null); the prototype is not looked at. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

// Optional fields may be absent, undefined or null (null is what a port from Python's
// `None` naturally returns); all three mean "not given".
function optional(record: Record<string, unknown>, name: string): unknown {
  const value = record[name]
  return value === null ? undefined : value
}

/**
 * Turns an access-token record (the shape of `ProviderAccessToken`) into a complete, frozen
 * `AccessToken` for the presented `token`, checking every field's type first. The standard fields
 * win over same-named entries in `record.claims`; the result is built by core's
 * `accessTokenFromClaims`, so it has exactly the shape every other verifier returns.
 */
export function accessTokenFromRecord(token: string, record: unknown): AccessToken | RecordProblem {
  if (!isObject(record)) return new RecordProblem('the access token record is not an object')
  const given = optional(record, 'token')
  if (given !== undefined && given !== token) {
    // Handing back another token's record is a lookup bug; never accept on it.
    return new RecordProblem('the access token record is for a different token')
  }
  const clientId = record.clientId
  if (typeof clientId !== 'string' || clientId === '') {
    return new RecordProblem('clientId is not a non-empty string')
  }
  const scopes = record.scopes
  if (!Array.isArray(scopes) || !scopes.every((s) => isScopeToken(s))) {
    return new RecordProblem('scopes is not an array of scope tokens')
  }
  const expiresAt = optional(record, 'expiresAt')
  if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) {
    return new RecordProblem('expiresAt is not a finite number of seconds')
  }
  for (const name of ['subject', 'issuer', 'resource'] as const) {
    const value = optional(record, name)
    if (value !== undefined && typeof value !== 'string') {
      return new RecordProblem(`${name} is not a string`)
    }
  }
  const audience = optional(record, 'audience')
  if (
    audience !== undefined &&
    typeof audience !== 'string' &&
    !(Array.isArray(audience) && audience.every((a) => typeof a === 'string'))
  ) {
    return new RecordProblem('audience is not a string or an array of strings')
  }
  const extra = optional(record, 'claims')
  if (extra !== undefined && !isObject(extra)) {
    return new RecordProblem('claims is not an object')
  }
  // The members are authoritative; a claim is written only where the claims do not already say
  // the same thing, so that claims passed through unchanged (fromAuthInfo(toAuthInfo(t))) stay so.
  const claims: Record<string, unknown> = { ...extra }
  if (first(claims, DEFAULT_CLAIM_MAPPING.clientId) !== clientId) claims.client_id = clientId
  const unique = [...new Set(scopes)]
  if (!sameList(parseScopes(first(claims, DEFAULT_CLAIM_MAPPING.scopes)), unique)) {
    claims.scope = formatScopes(unique)
  }
  setClaim(claims, 'exp', expiresAt)
  setClaim(claims, 'sub', optional(record, 'subject'))
  setClaim(claims, 'iss', optional(record, 'issuer'))
  if (audience !== undefined) {
    const wanted = typeof audience === 'string' ? [audience] : audience
    const held = normalizeAudience(claims.aud)
    if (held === false || held === undefined || !sameList(held, wanted)) claims.aud = audience
  }
  setClaim(claims, 'resource', optional(record, 'resource'))
  const result = accessTokenFromClaims(token, claims)
  if (result instanceof Refusal) {
    // Only a same-named entry of `claims` can still be malformed here (the fields are checked).
    return new RecordProblem(`claims are malformed: ${result.description}`)
  }
  return result
}

function setClaim(claims: Record<string, unknown>, name: string, value: unknown): void {
  if (value !== undefined && claims[name] !== value) claims[name] = value
}

function first(claims: Record<string, unknown>, names: readonly string[]): unknown {
  for (const name of names) {
    const value = claims[name]
    if (value !== undefined && value !== null) return value
  }
  return undefined
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i])
}

/**
 * The decisions every verifier of this package makes once it holds a well-formed token, in this
 * order: expiry (against the injected clock, whatever the source said), audience (the token's `aud`
 * entries or its RFC 8707 `resource` must name one of the configured audiences), the sender
 * constraint (`cnf`, checked against the request's proof context exactly as the JWT and
 * introspection verifiers do), then scopes.
 */
export function judge(
  accessToken: AccessToken,
  options: ResolvedOptions,
  senderConstraint: SenderConstraintContext | undefined,
): Refusal | null {
  // RFC 7519 §4.1.4: not accepted on or after exp. A clock that gives no number would never find
  // it passed: 503 (readClock), never an acceptance.
  if (
    accessToken.expiresAt !== undefined &&
    accessToken.expiresAt * 1000 <= readClock(options.now, 'the access token')
  ) {
    return new Refusal('expired', 'The access token has expired')
  }
  const wanted = options.audience
  if (wanted !== null) {
    const held = [...(accessToken.audience ?? [])]
    if (accessToken.resource !== undefined) held.push(accessToken.resource)
    if (!held.some((value) => wanted.has(comparableAudience(value)))) {
      return new Refusal('wrong_audience', 'The access token was not issued for this resource')
    }
  }
  // RFC 9449 §7.1, RFC 8705 §3: a record (or an AuthInfo) carrying `cnf` is sender-constrained; a
  // provider knows nothing of the request, so without the proof the HTTP layer checked it is
  // refused (`sender_constrained`), never taken as a bearer token.
  const unbound = checkConfirmation(accessToken.claims.cnf, senderConstraint)
  if (unbound !== null) return unbound
  if (missingScopes(accessToken.scopes, options.requiredScopes).length > 0) {
    return new Refusal('insufficient_scope', 'The access token lacks a required scope')
  }
  return null
}
