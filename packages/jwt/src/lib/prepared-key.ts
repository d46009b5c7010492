import { constants, createHmac, timingSafeEqual, verify, type KeyObject } from 'node:crypto'
import { nativePublicKey } from '@bearerkit/core'
import { ALGORITHMS, type AlgorithmSpec, type KeyFamily } from './algorithm-table.js'

/** Verifies one signature over one signing input with one algorithm. */
type SignatureCheck = (data: Uint8Array, signature: Uint8Array) => boolean

/** Why a key cannot be used; published in `key_skipped` events, never fatal on its own. */
export type KeySkipReason =
  | 'not_an_object'
  | 'private'
  | 'symmetric'
  | 'use'
  | 'key_ops'
  | 'invalid_kid'
  | 'unsupported_alg'
  | 'alg_mismatch'
  | 'unsupported_key'
  | 'invalid_key'
  | 'weak_key'
  | 'not_allowed'

/** Longest `kid` accepted, in a token header or a JWK. Real ones are under 100 characters. */
export const MAX_KID_LENGTH = 256

/** Smallest RSA modulus accepted (RFC 7518 §3.3 and §3.5: 2048 bits or larger MUST be used). */
const MIN_RSA_BITS = 2048

// OpenSSL curve names as KeyObject reports them -> JOSE curve names (RFC 7518 §6.2.1.1).
const EC_CURVES: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
}

// RFC 7518 §3.4: an ECDSA signature is R || S, each the size of the curve order.
const EC_SIGNATURE_BYTES: Readonly<Record<string, number>> = {
  'P-256': 64,
  'P-384': 96,
  'P-521': 132,
}

// RFC 8032 §5.1.6 and §5.2.6.
const OKP_SIGNATURE_BYTES: Readonly<Record<string, number>> = { Ed25519: 64, Ed448: 114 }

const HASH_BYTES = { sha256: 32, sha384: 48, sha512: 64 } as const

/**
 * A public key (or shared secret) made ready to verify: the algorithms it may verify are fixed when
 * it is prepared, and so is every argument node:crypto needs for each of them, so verifying a
 * token only looks up a closure and calls it.
 */
export class PreparedKey {
  /** The JWK `kid`, when the key has one. */
  readonly kid: string | undefined
  /** The family of the key: `RSA`, `EC`, `OKP` or `oct`. */
  readonly family: KeyFamily
  /** Every algorithm this key may verify: the allow-list, narrowed by key type and JWK `alg`. */
  readonly algorithms: ReadonlySet<string>
  readonly #checks: ReadonlyMap<string, SignatureCheck>

  constructor(kid: string | undefined, family: KeyFamily, checks: Map<string, SignatureCheck>) {
    this.kid = kid
    this.family = family
    this.#checks = checks
    this.algorithms = new Set(checks.keys())
  }

  /** Whether `signature` is a valid `alg` signature of `data` by this key. Never throws. */
  verify(alg: string, data: Uint8Array, signature: Uint8Array): boolean {
    const check = this.#checks.get(alg)
    if (check === undefined) return false
    try {
      return check(data, signature)
    } catch {
      return false
    }
  }
}

/** The JOSE family and curve of a node:crypto key, or `null` when JOSE has no use for it. */
export function describeKey(key: KeyObject): { family: KeyFamily; curve: string } | null {
  if (key.type === 'secret') return { family: 'oct', curve: '' }
  const type = key.asymmetricKeyType
  if (type === 'rsa') return { family: 'RSA', curve: '' }
  if (type === 'ed25519') return { family: 'OKP', curve: 'Ed25519' }
  if (type === 'ed448') return { family: 'OKP', curve: 'Ed448' }
  const curve =
    type === 'ec' ? EC_CURVES[key.asymmetricKeyDetails?.namedCurve as string] : undefined
  // rsa-pss keys carry their own parameter restrictions, x25519/x448 are for key agreement, dsa
  // and dh have no JWS algorithm, and EC keys must be on a JWS curve.
  return curve === undefined ? null : { family: 'EC', curve }
}

// node:crypto always reports the modulus length of an RSA key.
function rsaBits(key: KeyObject): number {
  return (key.asymmetricKeyDetails as { modulusLength: number }).modulusLength
}

/** Whether a key of this family and curve can verify `spec` at all. */
export function fits(spec: AlgorithmSpec, family: KeyFamily, curve: string): boolean {
  return spec.family === family && (spec.curves.length === 0 || spec.curves.includes(curve))
}

/**
 * Prepares `key` for the algorithms in `candidates` it can verify. Returns a reason instead when
 * the key is unusable: of a kind JOSE does not use, an RSA key under 2048 bits, a secret shorter
 * than an algorithm's hash, or no candidate algorithm fitting the key.
 */
export function prepareKey(
  key: KeyObject,
  kid: string | undefined,
  candidates: readonly string[],
): PreparedKey | KeySkipReason {
  if (key.type === 'private') return 'private'
  const described = describeKey(key)
  if (described === null) return 'unsupported_key'
  const { family, curve } = described
  if (family === 'RSA' && rsaBits(key) < MIN_RSA_BITS) {
    return 'weak_key'
  }
  const checks = new Map<string, SignatureCheck>()
  const verifyKey = family === 'oct' ? key : nativePublicKey(key)
  let tooShort = false
  for (const alg of candidates) {
    const spec = ALGORITHMS.get(alg)
    if (spec === undefined || !fits(spec, family, curve)) continue
    if (family === 'oct' && (key.symmetricKeySize as number) < spec.minSecret) {
      tooShort = true
      continue
    }
    checks.set(alg, signatureCheck(verifyKey, spec, curve))
  }
  if (checks.size === 0) return tooShort ? 'weak_key' : 'not_allowed'
  return new PreparedKey(kid, family, checks)
}

function signatureCheck(key: KeyObject, spec: AlgorithmSpec, curve: string): SignatureCheck {
  const hash = spec.hash
  switch (spec.family) {
    case 'RSA': {
      // RFC 7518 §3.3/§3.5: the signature is exactly as long as the modulus.
      const size = Math.ceil(rsaBits(key) / 8)
      if (!spec.pss) {
        return (data, signature) => signature.length === size && verify(hash, data, key, signature)
      }
      // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash output.
      const options = {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      }
      return (data, signature) =>
        signature.length === size && verify(hash, data, options, signature)
    }
    case 'EC': {
      // JWS carries R || S (IEEE P1363), not DER (RFC 7518 §3.4).
      const size = EC_SIGNATURE_BYTES[curve] as number
      const options = { key, dsaEncoding: 'ieee-p1363' as const }
      return (data, signature) =>
        signature.length === size && verify(hash, data, options, signature)
    }
    case 'OKP': {
      const size = OKP_SIGNATURE_BYTES[curve] as number
      return (data, signature) => signature.length === size && verify(null, data, key, signature)
    }
    case 'oct': {
      const algorithm = hash as keyof typeof HASH_BYTES
      const size = HASH_BYTES[algorithm]
      return (data, signature) =>
        signature.length === size &&
        // Constant-time comparison: an early exit would leak how many bytes of a forgery match.
        timingSafeEqual(createHmac(algorithm, key).update(data).digest(), signature)
    }
  }
}
