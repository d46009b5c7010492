import { InvalidTokenError, formatChallenge, type ChallengeParams } from '@bearerkit/core'
import type { SenderConstraint, SenderConstraintRefusal } from './sender-constraint.js'

/**
 * A refused DPoP proof (RFC 9449 §7.1): a 401 whose challenge is `DPoP error="invalid_dpop_proof"`
 * or `DPoP error="use_dpop_nonce"` (then with a fresh `DPoP-Nonce`). Its `code` is
 * `ERR_INVALID_TOKEN`, so everything that handles core's `InvalidTokenError` handles it; `reason`
 * is the proof's refusal reason (`too_old`, `replayed` ...).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1 RFC 9449 §7.1
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-9 RFC 9449 §9 (`use_dpop_nonce`)
 */
export class DpopProofError extends InvalidTokenError {
  /** The RFC 9449 error code of the challenge and body. */
  readonly dpopError: 'invalid_dpop_proof' | 'use_dpop_nonce' | 'invalid_token'
  /** The nonce to send in `DPoP-Nonce`, with `use_dpop_nonce`. */
  readonly nonce: string | undefined

  constructor(
    refusal: Omit<SenderConstraintRefusal, 'reason'> & { readonly reason: string },
    nonce: string | undefined,
    headers: Record<string, string>,
  ) {
    super(refusal.description, { reason: refusal.reason, headers })
    this.dpopError = refusal.error
    this.nonce = nonce
  }
}

/** Whether `error` is a {@link DpopProofError} (judged by shape, across package copies). */
export function isDpopProofError(error: unknown): error is DpopProofError {
  const code = (error as { dpopError?: unknown } | null)?.dpopError
  return code === 'invalid_dpop_proof' || code === 'use_dpop_nonce' || code === 'invalid_token'
}

/**
 * The `WWW-Authenticate` value of a refusal when sender-constrained tokens are configured: the
 * Bearer challenge and, where DPoP is accepted, a `DPoP algs="..."` challenge beside it (RFC 9449
 * §7.1), or the DPoP challenge alone when DPoP is required. The error, its description and the
 * scope go on the challenge of the scheme the client used (`dpop`); `realm` and
 * `resource_metadata` (RFC 9728 §5.1) go on both.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1 RFC 9449 §7.1
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1 RFC 9110 §11.6.1 (several challenges)
 */
export function senderConstrainedChallenge(
  senderConstraint: SenderConstraint,
  params: ChallengeParams,
  dpop: boolean,
): string {
  if (senderConstraint.proofs === null) return formatChallenge(params)
  const algs = senderConstraint.proofs.algorithms.join(' ')
  if (senderConstraint.dpopRequired) return formatChallenge({ ...params, algs }, 'DPoP')
  const plain = { realm: params.realm, resource_metadata: params.resource_metadata }
  return dpop
    ? `${formatChallenge(plain)}, ${formatChallenge({ ...params, algs }, 'DPoP')}`
    : `${formatChallenge(params)}, ${formatChallenge({ ...plain, algs }, 'DPoP')}`
}
