import { KeyObject, createPrivateKey, createPublicKey, type JsonWebKey } from 'node:crypto'
import { invalidArgument } from '@bearerkit/core'

/** A signing key ready for use, with the algorithm it signs with and its `kid`, if any. */
export interface SigningKey {
  readonly key: KeyObject
  readonly alg: string
  readonly kid: string | undefined
}

const RSA = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
const CURVES: Readonly<Record<string, string>> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
}

/** The asymmetric JWS algorithms accepted by default for signed introspection responses. */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = Object.freeze([
  ...RSA,
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
])

/** The algorithms a key can sign with, first the one used when none is asked for. */
// RSA-PSS-only keys (OID id-RSASSA-PSS) are left out: jose cannot use them as KeyObjects. A
// plain RSA key signs PS256/384/512 as well.
function algorithmsFor(key: KeyObject): readonly string[] {
  const type = key.asymmetricKeyType
  if (type === 'rsa') return RSA
  if (type === 'ed25519') return ['EdDSA', 'Ed25519']
  if (type === 'ec') {
    // Node always reports namedCurve for EC keys.
    const alg = CURVES[String(key.asymmetricKeyDetails?.namedCurve)]
    return alg === undefined ? [] : [alg]
  }
  return []
}

function isJwk(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !(value instanceof KeyObject)
}

/**
 * Imports the `private_key_jwt` signing key synchronously, so a bad key is a configuration error
 * at construction rather than a failure at the first request.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2 RFC 7523 §2.2
 */
export function importSigningKey(option: string, value: unknown, algOption: unknown): SigningKey {
  let key: KeyObject
  let jwkAlg: unknown
  let kid: unknown
  if (value instanceof KeyObject) {
    key = value
  } else if (typeof value === 'string') {
    try {
      key = createPrivateKey(value)
    } catch {
      throw invalidArgument(option, 'is not a private key in PEM form')
    }
  } else if (isJwk(value)) {
    if (value.d === undefined) throw invalidArgument(option, 'must be a private JWK (with d)')
    try {
      key = createPrivateKey({ key: value as JsonWebKey, format: 'jwk' })
    } catch {
      throw invalidArgument(option, 'is not a usable private JWK')
    }
    jwkAlg = value.alg
    kid = value.kid
  } else {
    throw invalidArgument(option, 'must be a private JWK, a private KeyObject or a PEM string')
  }
  if (key.type !== 'private') throw invalidArgument(option, 'must be a private key')
  const allowed = algorithmsFor(key)
  if (allowed.length === 0) {
    throw invalidArgument(option, 'must be an RSA, EC (P-256, P-384, P-521) or Ed25519 key')
  }
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) {
    throw invalidArgument(`${option}.kid`, 'must be a non-empty string')
  }
  // RFC 7518 §3.3: RSA keys of 2048 bits or more; jose refuses smaller ones when signing.
  const bits = key.asymmetricKeyDetails?.modulusLength
  if (bits !== undefined && bits < 2048) {
    throw invalidArgument(option, 'must be an RSA key of at least 2048 bits')
  }
  const wanted = algOption ?? jwkAlg
  if (wanted !== undefined && (typeof wanted !== 'string' || !allowed.includes(wanted))) {
    throw invalidArgument(
      algOption === undefined ? `${option}.alg` : 'options.privateKeyAlg',
      `must be one of ${allowed.join(', ')} for this key`,
    )
  }
  return Object.freeze({
    key,
    alg: wanted ?? (allowed[0] as string),
    kid,
  })
}

/** Imports a public verification key (a private one yields its public half). */
export function importVerificationKey(option: string, value: unknown): KeyObject {
  let key: KeyObject
  try {
    if (value instanceof KeyObject) {
      key = value.type === 'private' ? createPublicKey(value) : value
    } else if (typeof value === 'string') {
      key = createPublicKey(value)
    } else if (isJwk(value)) {
      key = createPublicKey({ key: value as JsonWebKey, format: 'jwk' })
    } else {
      throw new TypeError('unsupported')
    }
  } catch {
    throw invalidArgument(option, 'must be a public JWK, a public KeyObject or a PEM string')
  }
  if (key.type !== 'public' || algorithmsFor(key).length === 0) {
    throw invalidArgument(option, 'must be an RSA, EC (P-256, P-384, P-521) or Ed25519 public key')
  }
  return key
}
