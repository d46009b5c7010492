/**
 * The JWS algorithms this package verifies, and the default allow-list.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.1 RFC 7518 §3.1 (`alg` values for JWS)
 * @see https://www.rfc-editor.org/rfc/rfc8037#section-3.1 RFC 8037 §3.1 (EdDSA)
 */

/**
 * A JWS `alg` value that bearerkit can verify. `none` is not one and never will be.
 *
 * @example
 * ```ts
 * const algorithms: JwsAlgorithm[] = ['ES256', 'EdDSA']
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.1 RFC 7518 §3.1
 */
export type JwsAlgorithm =
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'
  | 'Ed25519'
  | 'HS256'
  | 'HS384'
  | 'HS512'

/**
 * Every algorithm that can be put in an `algorithms` allow-list. `Ed25519` is the fully specified
 * name of EdDSA over Ed25519 (RFC 9864); the `HS*` family needs a configured shared secret.
 *
 * @example
 * ```ts
 * SUPPORTED_ALGORITHMS.includes('ES256') // true
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9864 RFC 9864 (fully specified algorithms)
 */
export const SUPPORTED_ALGORITHMS: readonly JwsAlgorithm[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'HS256',
  'HS384',
  'HS512',
])

/**
 * The default allow-list: asymmetric algorithms only, so that a public key can never be used as an
 * HMAC secret (the classic algorithm-confusion attack).
 *
 * @example
 * ```ts
 * createJwtVerifier({ issuer, audience, algorithms: [...DEFAULT_ALGORITHMS, 'Ed25519'] })
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc8725#section-3.1 RFC 8725 §3.1 (perform algorithm verification)
 */
export const DEFAULT_ALGORITHMS: readonly JwsAlgorithm[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
])
