import { createPublicKey, type KeyObject } from 'node:crypto'

/**
 * `key` as OpenSSL 3 holds a key it decoded itself. node:crypto builds a key from a JWK as a
 * legacy OpenSSL key, which OpenSSL converts for its provider again on every verification: a
 * key-management lookup by name, locks and copies, 2,000 – 6,500 instructions per verification
 * (counted with callgrind for RSA and P-256 keys). Its SPKI encoding read back is a native key
 * with the same public values: convert once, when the key is imported, not once per signature.
 * Should the round trip fail (a key without an SPKI encoding), the key is returned as it is: it
 * verifies the same, only slower.
 *
 * @example
 * ```ts
 * const key = nativePublicKey(createPublicKey({ key: jwk, format: 'jwk' }))
 * ```
 */
export function nativePublicKey(key: KeyObject): KeyObject {
  try {
    const der = key.export({ format: 'der', type: 'spki' })
    return createPublicKey({ key: der, format: 'der', type: 'spki' })
  } catch {
    return key
  }
}
