import { b64TokenKey, processTokenKey } from './token-key.js'

const BRAND = Symbol('scanBearerToken')

/**
 * A bearer token that {@link scanBearerToken} found to be an RFC 6750 b64token, with its
 * in-process cache key ({@link processTokenKey}) computed in the same reading of its bytes.
 * Passed on as `VerifyOptions.tokenKey`, it spares an in-process cache in front of the verifier
 * (`createCachedVerifier`, the introspection cache) hashing the token a second time.
 *
 * Opaque: `util.inspect` and `JSON.stringify` show nothing of the token or the key. Only
 * `scanBearerToken` makes one, and a cache uses the key only for the very token it was made for.
 */
export class TokenKey {
  readonly #token: string
  readonly #key: string

  /** @internal Use {@link scanBearerToken}. */
  constructor(brand: symbol, token: string, key: string) {
    if (brand !== BRAND) throw new TypeError('A TokenKey comes from scanBearerToken()')
    this.#token = token
    this.#key = key
  }

  /** The token this key was made for. */
  get token(): string {
    return this.#token
  }

  /**
   * The in-process key of `token`: the one in `given` when `given` is a TokenKey made for this
   * very token, else {@link processTokenKey}.
   */
  static of(token: string, given: unknown): string {
    return typeof given === 'object' && given !== null && #key in given && given.#token === token
      ? given.#key
      : processTokenKey(token)
  }
}

/**
 * The token as a {@link TokenKey} when it is an RFC 6750 b64token (one or more of
 * `A-Z a-z 0-9 - . _ ~ + /`, then `=` padding), else `null`: the syntax check of
 * {@link isB64Token} and the key of {@link processTokenKey} in one reading of the token's bytes.
 * The HTTP gate checks every request's token this way and hands the key to the verifier.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1 RFC 6750 §2.1
 * @example
 * ```ts
 * const scanned = scanBearerToken(token)
 * if (scanned === null) return malformed()
 * const accessToken = await verifier.verifyToken(token, { tokenKey: scanned })
 * ```
 */
export function scanBearerToken(token: string): TokenKey | null {
  const key = b64TokenKey(token)
  return key === null ? null : new TokenKey(BRAND, token, key)
}
