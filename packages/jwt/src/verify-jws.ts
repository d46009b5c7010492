import type { Refusal } from '@bearerkit/core'
import type { KeyResolver, VerificationKey } from './key-resolver.js'
import { createJwsCheck } from './lib/jws-check.js'
import { resolveJwsOptions } from './lib/resolve-options.js'

export { DEFAULT_MAX_TOKEN_BYTES, normalizeType } from './lib/jws-check.js'

/**
 * A JWS protected header after the checks of {@link createJwsVerifier}: frozen, inheriting nothing.
 *
 * @example
 * ```ts
 * const header: JwsHeader = { alg: 'ES256', typ: 'at+jwt', kid: 'k1' }
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-4 RFC 7515 §4 (JOSE header)
 */
export interface JwsHeader {
  readonly alg: string
  readonly kid?: string
  readonly typ?: string
  readonly crit?: readonly string[]
  readonly [parameter: string]: unknown
}

/**
 * Options of {@link createJwsVerifier}.
 *
 * @example
 * ```ts
 * const options: JwsVerifierOptions = { keys, algorithms: ['ES256'], types: ['oauth-id-jag+jwt'] }
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc8725#section-3.11 RFC 8725 §3.11 (explicit typing)
 */
export interface JwsVerifierOptions {
  /** Where the keys come from (see {@link createKeyResolver}). */
  keys: KeyResolver
  /** Algorithm allow-list. Default {@link DEFAULT_ALGORITHMS}. `none` is never allowed. */
  algorithms?: readonly string[]
  /**
   * Accepted `typ` values, compared as media types (case-insensitive, `application/` implied), or
   * `null` to accept any `typ` and none. Required: a token type is a security decision.
   */
  types: readonly string[] | null
  /**
   * `crit` extensions the caller checks itself; a token naming any other is refused
   * (RFC 7515 §4.1.11). Default none.
   */
  criticalHeaders?: readonly string[]
  /** Longest token accepted, in characters. Default 64 KiB. */
  maxLength?: number
}

/**
 * A JWS whose signature checked out.
 *
 * @example
 * ```ts
 * const { header, payload, key } = verified
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-5.2 RFC 7515 §5.2 (validation)
 */
export interface VerifiedJws {
  readonly header: JwsHeader
  /**
   * The payload, parsed as a JSON object (a JWT claims set). It is the parser's own object: copy
   * it with `safeClaims` from `@bearerkit/core` before handing it to code that might mutate it.
   */
  readonly payload: Record<string, unknown>
  /** The key that verified the signature. */
  readonly key: VerificationKey
}

/**
 * Verifies compact JWS tokens; built by {@link createJwsVerifier}.
 *
 * @example
 * ```ts
 * const result = await jwsVerifier.verify(token, request.signal)
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-7.1 RFC 7515 §7.1 (compact serialization)
 */
export interface JwsVerifier {
  /**
   * The verified header and payload, or a `Refusal` saying why the token is not valid. Only the
   * JWS layer is checked: claims (`iss`, `aud`, `exp` ...) are the caller's job.
   *
   * @throws VerifierUnavailableError when the keys cannot be had now; the signal's reason when
   * `signal` aborts.
   */
  verify(token: string, signal?: AbortSignal): Promise<VerifiedJws | Refusal>
}

/**
 * Builds a verifier of compact JWS tokens (RFC 7515 §7.1) whose payload is a JSON object, with
 * every header check done strictly and before any key is looked up:
 *
 * - at most `maxLength` characters, exactly three segments of canonical base64url (a JWE is
 *   `unsupported_token`);
 * - the header is a UTF-8 JSON object; `alg` is in the allow-list (`none` never is); `kid`, when
 *   present, a string of 1 to 256 characters; `typ` one of `types`; `crit` per RFC 7515 §4.1.11;
 *   `b64` absent or `true`;
 * - `jku`, `x5u`, `jwk` and `x5c` are ignored: a token never chooses where its key comes from;
 * - then the keys come from `keys` and the signature is checked with node:crypto.
 *
 * Parsed headers are remembered (a few dozen, by their exact text), since the tokens of one
 * issuer share a handful of headers.
 *
 * @example
 * ```ts
 * const verifier = createJwsVerifier({
 *   keys: createKeyResolver({ jwksUri: 'https://idp.example.com/jwks' }),
 *   types: ['oauth-id-jag+jwt'],
 * })
 * const result = await verifier.verify(assertion)
 * if (result instanceof Refusal) return result
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-5.2 RFC 7515 §5.2 (validation)
 * @see https://www.rfc-editor.org/rfc/rfc8725 RFC 8725 (JWT best current practices)
 */
export function createJwsVerifier(options: JwsVerifierOptions): JwsVerifier {
  const check = createJwsCheck(resolveJwsOptions(options))
  return { verify: async (token, signal) => check(token, signal) }
}
