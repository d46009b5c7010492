import {
  Refusal,
  checkConfirmation,
  normalizeAudience,
  type SenderConstraintContext,
} from '@bearerkit/core'

/** The claim rules of a JWT access-token verifier, with durations in seconds. */
export interface ClaimPolicy {
  /** Accepted audiences, or `null` when the check is off. */
  readonly audience: readonly string[] | null
  readonly clockTolerance: number
  readonly maxTokenAge: number | undefined
  readonly requireExpiration: boolean
  /** Whether `iat` is required (RFC 9068 §2.2); it always is with `maxTokenAge`. */
  readonly requireIssuedAt: boolean
}

const refusals = {
  audMissing: new Refusal('missing_claim', 'The access token has no aud claim'),
  audType: new Refusal('invalid_claim', 'The access token aud claim is not a string or an array'),
  audWrong: new Refusal('wrong_audience', 'The access token is not meant for this resource'),
  expMissing: new Refusal('missing_claim', 'The access token has no exp claim'),
  expType: new Refusal('invalid_claim', 'The access token exp claim is not a number'),
  expired: new Refusal('expired', 'The access token has expired'),
  nbfType: new Refusal('invalid_claim', 'The access token nbf claim is not a number'),
  nbf: new Refusal('not_yet_valid', 'The access token is not valid yet'),
  iatType: new Refusal('invalid_claim', 'The access token iat claim is not a number'),
  iat: new Refusal('issued_in_future', 'The access token is issued in the future'),
  iatMissing: new Refusal('missing_claim', 'The access token has no iat claim'),
  tooOld: new Refusal('too_old', 'The access token is too old'),
}

// RFC 7519 §2: a NumericDate is a JSON number of seconds (fractions allowed).
function numericDate(value: unknown): number | undefined | false {
  if (value === undefined) return undefined
  return typeof value === 'number' && Number.isFinite(value) ? value : false
}

/**
 * Checks `aud`, `exp`, `nbf`, `iat`, the token age at `now` (seconds since the epoch), and
 * `cnf`, in that order. Returns the first failure, or `undefined`.
 *
 * A token with a `cnf` claim is sender-constrained (RFC 7800; DPoP RFC 9449 §6, mTLS RFC 8705
 * §3.1): it is accepted only when `senderConstraint` (the proof the HTTP layer checked) matches
 * every confirmation it carries. Without it, accepting the token as a plain bearer token would
 * let a stolen bound token through: it is refused (`sender_constrained`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4 RFC 9068 §4 (validating JWT access tokens)
 * @see https://www.rfc-editor.org/rfc/rfc7519#section-4.1 RFC 7519 §4.1 (registered claims)
 */
export function checkClaims(
  claims: Readonly<Record<string, unknown>>,
  policy: ClaimPolicy,
  now: number,
  senderConstraint?: SenderConstraintContext,
): Refusal | undefined {
  const { audience, clockTolerance: skew } = policy
  if (audience !== null) {
    // RFC 9068 §4: the resource server MUST validate that aud contains its own identifier.
    const aud = claims.aud
    if (typeof aud === 'string') {
      // The common form, one audience: no array to build.
      if (!audience.includes(aud)) return refusals.audWrong
    } else {
      const list = normalizeAudience(aud)
      if (list === undefined) return refusals.audMissing
      if (list === false) return refusals.audType
      if (!list.some((a) => audience.includes(a))) return refusals.audWrong
    }
  }
  const exp = numericDate(claims.exp)
  if (exp === false) return refusals.expType
  if (exp === undefined) {
    if (policy.requireExpiration) return refusals.expMissing
    // RFC 7519 §4.1.4: the current time MUST be before exp (plus the allowed skew).
  } else if (now >= exp + skew) {
    return refusals.expired
  }
  const nbf = numericDate(claims.nbf)
  if (nbf === false) return refusals.nbfType
  // RFC 7519 §4.1.5: not accepted before nbf (minus the allowed skew).
  if (nbf !== undefined && now < nbf - skew) return refusals.nbf
  const iat = numericDate(claims.iat)
  if (iat === false) return refusals.iatType
  if (iat === undefined) {
    // RFC 9068 §2.2: iat is REQUIRED in a JWT access token; without it, no age can be checked.
    if (policy.requireIssuedAt || policy.maxTokenAge !== undefined) return refusals.iatMissing
  } else {
    if (iat > now + skew) return refusals.iat
    if (policy.maxTokenAge !== undefined && now - iat > policy.maxTokenAge + skew) {
      return refusals.tooOld
    }
  }
  // RFC 9449 §7, RFC 8705 §3: a sender-constrained token is accepted only with the proof the HTTP
  // layer checked; without it (a direct caller) it is refused, never taken as a bearer token.
  if (claims.cnf !== undefined) return checkConfirmation(claims.cnf, senderConstraint) ?? undefined
  return undefined
}
