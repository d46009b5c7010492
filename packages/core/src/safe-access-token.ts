import { ACCESS_TOKEN_PROTOTYPE, type AccessToken } from './access-token.js'

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * `accessToken` with the `toJSON` and `util.inspect` forms that show a fingerprint in place of the
 * token (see {@link AccessTokenJson}): the token itself when bearerkit built it, otherwise a
 * shallow copy on the prototype that has them. A custom verifier may return a plain object, or
 * one with a `toJSON` of its own; what leaves {@link defineVerifier} or an HTTP gate must not print
 * the token when someone logs it. The copy keeps every field and every other own member.
 *
 * @example
 * ```ts
 * const accessToken = safeAccessToken({ token, clientId: 'c1', scopes: [], claims: {} })
 * JSON.stringify(accessToken) // {"tokenFingerprint":"sha256:...","clientId":"c1",...}
 * ```
 */
export function safeAccessToken(accessToken: AccessToken): AccessToken {
  if (
    Object.getPrototypeOf(accessToken) === ACCESS_TOKEN_PROTOTYPE &&
    !Object.hasOwn(accessToken, 'toJSON') &&
    !Object.hasOwn(accessToken, INSPECT)
  ) {
    return accessToken
  }
  const copy = Object.create(ACCESS_TOKEN_PROTOTYPE) as Mutable<AccessToken>
  // Every other own enumerable member, as a spread would copy it; never the verifier's own forms
  // (one might print the token), which the prototype's replace.
  for (const key of Reflect.ownKeys(accessToken)) {
    if (key === 'toJSON' || key === INSPECT) continue
    if (!Object.prototype.propertyIsEnumerable.call(accessToken, key)) continue
    Object.defineProperty(copy, key, {
      value: (accessToken as unknown as Record<PropertyKey, unknown>)[key],
      writable: true,
      enumerable: true,
      configurable: true,
    })
  }
  // The contract's fields read through the source, getters of a class included.
  copy.token = accessToken.token
  copy.clientId = accessToken.clientId
  copy.scopes = accessToken.scopes
  copy.claims = accessToken.claims
  for (const name of ['expiresAt', 'subject', 'issuer', 'audience', 'resource', 'cnf'] as const) {
    const value = accessToken[name]
    if (value !== undefined) Object.assign(copy, { [name]: value })
  }
  // As immutable as the source: a frozen answer stays frozen (a cache may share it).
  return Object.isFrozen(accessToken) ? Object.freeze(copy) : copy
}
