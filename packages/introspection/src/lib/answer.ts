import {
  Refusal,
  accessTokenFromClaims,
  checkConfirmation,
  hasAllScopes,
  safeAccessToken,
  type AccessToken,
  type ClaimMapping,
  type SenderConstraintContext,
} from '@bearerkit/core'
import { unavailable } from './unavailable.js'

/**
 * A validated introspection answer, as cached. It holds what the authorization server said, never
 * a decision that depends on this verifier's settings: expiry, type, issuer, audience and scopes
 * are judged by {@link decide} on every use.
 */
export type Answer =
  /** An active, well-formed answer, as an AccessToken. */
  | { readonly accessToken: AccessToken; readonly refusal: null }
  /** Why the token is refused whatever the settings (inactive, no client id ...). */
  | { readonly accessToken: null; readonly refusal: Refusal }

/** What {@link decide} checks an answer against. */
export interface Policy {
  readonly issuer: string | undefined
  readonly audience: readonly string[] | null
  readonly requiredScopes: readonly string[]
  readonly requireTokenType: boolean
}

const INACTIVE = new Refusal('inactive', 'The access token is not active')
const EXPIRED = new Refusal('expired', 'The access token has expired')
const NOT_YET_VALID = new Refusal('not_yet_valid', 'The access token is not valid yet')
const REJECTED = new Refusal('rejected', 'The access token is invalid')
const NOT_ACCESS_TOKEN = new Refusal('not_access_token', 'The token is not an access token')
const NO_TOKEN_TYPE = new Refusal(
  'not_access_token',
  'The introspection answer does not say the token is an access token',
)
const UNCONFIRMED_DPOP = new Refusal(
  'sender_constrained',
  'The introspection answer says the token is DPoP-bound but names no key (cnf.jkt)',
)
const WRONG_ISSUER = new Refusal('wrong_issuer', 'The access token was issued by another issuer')
const NO_AUDIENCE = new Refusal('missing_claim', 'The access token names no audience')
const WRONG_AUDIENCE = new Refusal(
  'wrong_audience',
  'The access token is not meant for this resource',
)
const INSUFFICIENT_SCOPE = new Refusal(
  'insufficient_scope',
  'The access token lacks a required scope',
)

/**
 * `token_type` values taken to mean an access token, compared case-insensitively (RFC 6749 §7.1:
 * token types are case-insensitive). `N_A` is refused: RFC 8693 §2.2.1 uses it precisely for
 * tokens that are not access tokens. `DPoP` (RFC 9449 §6.2) is an access token bound to a key: it
 * is accepted only with `cnf.jkt` and the matching proof (see {@link decide}).
 */
export const ACCESS_TOKEN_TYPES: ReadonlySet<string> = new Set([
  'bearer',
  'dpop',
  'access_token',
  'urn:ietf:params:oauth:token-type:access_token',
])

const STRING_MEMBERS = ['scope', 'client_id', 'username', 'token_type', 'sub', 'iss', 'jti']
const NUMBER_MEMBERS = ['exp', 'iat', 'nbf']

function invalid(problem: string) {
  return unavailable(`The introspection response ${problem}`, 'invalid_response')
}

/**
 * Validates an introspection response body (already parsed from JSON or taken out of a verified
 * RFC 9701 JWT) in a fixed order: a JSON object, `active` a boolean, then the type of every RFC
 * 7662 member present. A malformed answer says nothing about the token, so it throws
 * `VerifierUnavailableError` (`invalid_response`) rather than refusing.
 *
 * An active answer without `iss` comes from the server this verifier asked: with a configured
 * `issuer`, that issuer is the AccessToken's `issuer` (the claims stay as the server sent them),
 * so the principal triple and `revokeSubject({ issuer, subject })` reach the token.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2 RFC 7662 §2.2
 */
export function parseAnswer(
  token: string,
  document: unknown,
  mapping: Readonly<Required<ClaimMapping>>,
  issuer?: string,
): Answer {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw invalid('is not a JSON object')
  }
  const members = document as Record<string, unknown>
  // RFC 7662 §2.2: active is REQUIRED and a boolean; "true" or 1 are not true.
  const active = members.active
  if (typeof active !== 'boolean') throw invalid('has no boolean active member')
  // RFC 7662 §2.2: an inactive answer need say nothing else, and nothing else is trusted.
  if (!active) return { accessToken: null, refusal: INACTIVE }
  for (const name of STRING_MEMBERS) {
    const value = members[name]
    if (value !== undefined && typeof value !== 'string') throw invalid(`has a non-string ${name}`)
  }
  for (const name of NUMBER_MEMBERS) {
    const value = members[name]
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw invalid(`has a non-numeric ${name}`)
    }
  }
  const aud = members.aud
  if (
    aud !== undefined &&
    typeof aud !== 'string' &&
    !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))
  ) {
    throw invalid('has an aud that is neither a string nor an array of strings')
  }
  const cnf = members.cnf
  if (cnf !== undefined && (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf))) {
    throw invalid('has a cnf that is not an object')
  }
  const result = accessTokenFromClaims(token, members, mapping)
  if (result instanceof Refusal) return { accessToken: null, refusal: result }
  // RFC 7662 §2.2: iss is OPTIONAL. An answer without it is taken as this issuer's (decide accepts
  // it for the configured issuer), so the token must carry that issuer too: a principal of
  // (client, null, sub) would escape a subject revocation and differ from the same user's JWT.
  if (result.issuer === undefined && issuer !== undefined) {
    // A spread is a plain object: safeAccessToken puts it back on the prototype whose toJSON and
    // util.inspect print a fingerprint, not the token.
    return { accessToken: Object.freeze(safeAccessToken({ ...result, issuer })), refusal: null }
  }
  return { accessToken: result, refusal: null }
}

/**
 * Decides on an answer at time `at` (milliseconds). Runs on fresh and cached answers alike, so a
 * cached answer is held to every check each time it is used.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-4 RFC 7662 §4 (what the resource server
 * must still check)
 */
export function decide(
  answer: Answer,
  token: string,
  at: number,
  policy: Policy,
  senderConstraint?: SenderConstraintContext,
): AccessToken | Refusal {
  if (answer.accessToken === null) return answer.refusal
  const accessToken = answer.accessToken
  // Cache keys are hashes; comparing the token makes a collision harmless.
  if (accessToken.token !== token) return REJECTED
  if (accessToken.expiresAt !== undefined && accessToken.expiresAt * 1000 <= at) return EXPIRED
  // RFC 7662 §2.2 nbf: the token is not to be used before it (checked on cached answers too).
  const nbf = accessToken.claims.nbf as number | undefined
  if (nbf !== undefined && at < nbf * 1000) return NOT_YET_VALID
  const type = accessToken.claims.token_type as string | undefined
  // An answer without token_type may be about a refresh token (oidc-provider answers so); it is
  // refused unless requireTokenType is false.
  if (type === undefined) {
    if (policy.requireTokenType) return NO_TOKEN_TYPE
    // 'Bearer' exactly is the common case and skips the case-folding.
  } else if (type !== 'Bearer' && !ACCESS_TOKEN_TYPES.has(type.toLowerCase())) {
    return NOT_ACCESS_TOKEN
  }
  // RFC 9449 §6.2 / RFC 8705 §3.2: cnf binds the token to a key; it is accepted only with the
  // proof the HTTP layer checked, on cached answers too (never as a bearer token).
  const cnf = accessToken.claims.cnf
  if (cnf !== undefined) {
    const refusal = checkConfirmation(cnf, senderConstraint)
    if (refusal !== null) return refusal
  }
  if (
    type !== undefined &&
    type !== 'Bearer' &&
    type.toLowerCase() === 'dpop' &&
    typeof (cnf as { jkt?: unknown } | undefined)?.jkt !== 'string'
  ) {
    // A DPoP token whose key is not named cannot be checked against any proof.
    return UNCONFIRMED_DPOP
  }
  if (
    policy.issuer !== undefined &&
    accessToken.issuer !== undefined &&
    accessToken.issuer !== policy.issuer
  ) {
    return WRONG_ISSUER
  }
  const audience = policy.audience
  if (audience !== null) {
    const granted = accessToken.audience
    if (granted === undefined) return NO_AUDIENCE
    if (!includesAny(granted, audience)) return WRONG_AUDIENCE
  }
  if (!hasAllScopes(accessToken.scopes, policy.requiredScopes)) return INSUFFICIENT_SCOPE
  return accessToken
}

function includesAny(granted: readonly string[], wanted: readonly string[]): boolean {
  for (const value of wanted) {
    if (granted.includes(value)) return true
  }
  return false
}
