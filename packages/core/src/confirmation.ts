import { Refusal } from './access-token.js'

/**
 * The confirmation of a sender-constrained token (`cnf`, RFC 7800 §3.1), as far as bearerkit can
 * check it: the DPoP key thumbprint and the TLS client certificate thumbprint.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-6 RFC 9449 §6 (`jkt`)
 * @see https://www.rfc-editor.org/rfc/rfc8705#section-3.1 RFC 8705 §3.1 (`x5t#S256`)
 */
export interface Confirmation {
  /** RFC 9449 §6.1: base64url SHA-256 JWK thumbprint (RFC 7638) of the DPoP proof key. */
  readonly jkt?: string
  /** RFC 8705 §3.1: base64url SHA-256 thumbprint of the DER client certificate. */
  readonly 'x5t#S256'?: string
}

/**
 * What the HTTP layer proved about the request a token came with, after it verified the proof:
 * verifiers compare it with the token's `cnf` (see {@link checkConfirmation}). Passed as
 * `VerifyOptions.senderConstraint`; without it, a sender-constrained token is refused.
 */
export interface SenderConstraintContext {
  /** The RFC 7638 thumbprint of the key that signed the request's valid DPoP proof. */
  readonly dpopJkt?: string
  /** The RFC 8705 thumbprint of the client's TLS certificate. */
  readonly certificateThumbprint?: string
}

const METHODS: ReadonlySet<string> = new Set(['jkt', 'x5t#S256'])

const NEEDS_PROOF = new Refusal(
  'sender_constrained',
  'The access token is sender-constrained (cnf) and was presented without its proof',
)
const WRONG_KEY = new Refusal(
  'sender_constrained',
  'The DPoP proof was signed by a key other than the one the access token is bound to',
)
const WRONG_CERTIFICATE = new Refusal(
  'sender_constrained',
  'The client certificate is not the one the access token is bound to',
)
const UNSUPPORTED = new Refusal(
  'sender_constrained',
  'The access token is bound by a confirmation method this resource server cannot check',
)
const MALFORMED = new Refusal('invalid_claim', 'The access token cnf claim is malformed')

/**
 * The confirmation of a `cnf` claim: `undefined` for an unbound token (no `cnf`), the members
 * when `cnf` is an object whose `jkt` and `x5t#S256` are non-empty strings where present, or a
 * {@link Refusal} otherwise.
 */
export function readConfirmation(cnf: unknown): Confirmation | Refusal | undefined {
  if (cnf === undefined) return undefined
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) return MALFORMED
  const members = cnf as Record<string, unknown>
  let found = false
  for (const name of Object.keys(members)) {
    // RFC 7800 §3.1: the confirmation methods are alternatives the issuer chose; one we cannot
    // check (jwk, jku, kid, x5t ...) must not be skipped, or the token becomes a bearer token.
    if (!METHODS.has(name)) return UNSUPPORTED
    const value = members[name]
    if (typeof value !== 'string' || value === '') return MALFORMED
    found = true
  }
  return found ? members : MALFORMED
}

/**
 * Checks a token's `cnf` claim against the request's proof context: `null` when the token may be
 * used by this request (it is unbound, or every confirmation it carries matches), otherwise the
 * {@link Refusal} (code `sender_constrained`, or `invalid_claim` for a malformed `cnf`).
 *
 * Without `context` every bound token is refused: a direct caller that checked no proof keeps the
 * safe default (RFC 9449 §7.2: a DPoP-bound token presented as a bearer token is refused).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1 RFC 9449 §7.1
 * @see https://www.rfc-editor.org/rfc/rfc8705#section-3 RFC 8705 §3
 * @example
 * ```ts
 * const refusal = checkConfirmation(claims.cnf, options?.senderConstraint)
 * if (refusal !== null) return refusal
 * ```
 */
export function checkConfirmation(
  cnf: unknown,
  context: SenderConstraintContext | undefined,
): Refusal | null {
  if (cnf === undefined) return null
  const confirmation = readConfirmation(cnf)
  if (confirmation === undefined) return null
  if (confirmation instanceof Refusal) return confirmation
  if (typeof context !== 'object' || context === null) return NEEDS_PROOF
  const jkt = confirmation.jkt
  if (jkt !== undefined) {
    const proven = context.dpopJkt
    if (proven === undefined) return NEEDS_PROOF
    if (proven !== jkt) return WRONG_KEY
  }
  const x5t = confirmation['x5t#S256']
  if (x5t !== undefined) {
    const proven = context.certificateThumbprint
    if (proven === undefined) return NEEDS_PROOF
    if (proven !== x5t) return WRONG_CERTIFICATE
  }
  return null
}
