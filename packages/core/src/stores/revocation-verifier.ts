import { Refusal, type AccessToken, type TokenVerifier } from '../access-token.js'
import { defineVerifier } from '../define-verifier.js'
import { invalidArgument } from '../errors.js'
import { withOnRefusal } from '../forward-options.js'
import type { StoreGuardOptions } from './replay-store.js'
import { guardRevocationList, type RevocationList } from './revocation-list.js'

const REVOKED = new Refusal('revoked', 'The access token has been revoked')

/**
 * Puts a revocation check behind any verifier: a token the inner verifier accepts is then looked
 * up in `revocations` (a local, synchronous lookup), and refused when revoked. Wrap the outermost
 * verifier (a cached one included), so that every answer, cache hits too, passes the check.
 *
 * Fails closed: a revocation list that cannot be trusted (stale, throwing, answering the wrong
 * type) makes the verification reject with `VerifierUnavailableError` (503), never accept.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009 RFC 7009 (revocation at the authorization server;
 *   this is its resource-server side)
 * @example
 * ```ts
 * const verifier = withRevocationCheck(createCachedVerifier(jwtVerifier), stores.revocations)
 * ```
 */
export function withRevocationCheck(
  verifier: TokenVerifier,
  revocations: RevocationList,
  options: StoreGuardOptions = {},
): TokenVerifier {
  if (typeof verifier?.verifyToken !== 'function') {
    throw invalidArgument('verifier', 'must be a TokenVerifier (an object with verifyToken)')
  }
  const list = guardRevocationList(revocations, options)
  return defineVerifier('revocation', async (token, verifyOptions) => {
    let refusal: Refusal | undefined
    // Every option reaches the inner verifier unchanged: the signal, onValidity (a cache in front
    // must learn a maxTokenAge bound, or it serves a token the inner one refuses), the proof
    // context (RFC 9449 §7, RFC 8705 §3), and any member added later. Only onRefusal is ours: the
    // refusal is passed on by returning it.
    const accessToken: AccessToken | null = await verifier.verifyToken(
      token,
      withOnRefusal(verifyOptions, (r) => {
        refusal = r
      }),
    )
    if (accessToken === null)
      return refusal ?? new Refusal('rejected', 'The access token is invalid')
    return list.isRevoked(accessToken) ? REVOKED : accessToken
  })
}
