import { createSecretKey, generateKeyPair as nodeGenerateKeyPair, randomBytes } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { promisify } from 'node:util'
import { invalidArgument } from '@bearerkit/core'
import { calculateJwkThumbprint, type JWK } from 'jose'

const generate = promisify(nodeGenerateKeyPair)

/**
 * The asymmetric JWS algorithms {@link generateKeyPair} makes keys for.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.1 RFC 7518 §3.1
 * @see https://www.rfc-editor.org/rfc/rfc8037#section-3.1 RFC 8037 §3.1 (EdDSA with Ed25519)
 */
export type AsymmetricAlgorithm =
  'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA'

/** The HMAC JWS algorithms {@link generateSecret} makes secrets for (RFC 7518 §3.2). */
export type SymmetricAlgorithm = 'HS256' | 'HS384' | 'HS512'

/** Every JWS algorithm this package signs with. */
export type SigningAlgorithm = AsymmetricAlgorithm | SymmetricAlgorithm

/**
 * Every asymmetric algorithm, in a stable order, for tests that run once per algorithm.
 *
 * @example
 * ```ts
 * for (const alg of ASYMMETRIC_ALGORITHMS) {
 *   const pair = await generateKeyPair(alg)
 * }
 * ```
 */
export const ASYMMETRIC_ALGORITHMS: readonly AsymmetricAlgorithm[] = Object.freeze([
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

/** Every HMAC algorithm, in a stable order. */
export const SYMMETRIC_ALGORITHMS: readonly SymmetricAlgorithm[] = Object.freeze([
  'HS256',
  'HS384',
  'HS512',
])

/** Options of {@link generateKeyPair}. */
export interface GenerateKeyPairOptions {
  /** Key id. Default: the key's RFC 7638 JWK thumbprint (SHA-256). */
  kid?: string
  /** RSA modulus length in bits (RS* and PS* only). Default 2048, the least RFC 7518 allows. */
  modulusLength?: number
}

/**
 * A freshly generated signing key pair, in every form a test needs. Keys are Node `KeyObject`s,
 * which `jose` and `node:crypto` both accept.
 */
export interface TestKeyPair {
  /** The algorithm the key is meant for; also the `alg` of its JWKs. */
  readonly alg: AsymmetricAlgorithm
  /** The key id, also in both JWKs. */
  readonly kid: string
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  /** The public key as a JWK with `kid`, `alg` and `use: 'sig'`, ready for a JWK Set. */
  readonly publicJwk: Readonly<JWK>
  /** The private key as a JWK with `kid`, `alg` and `use: 'sig'`. Never serve it. */
  readonly privateJwk: Readonly<JWK>
  /** The private key, PKCS #8 PEM. */
  readonly privatePem: string
  /** The public key, SPKI PEM. */
  readonly publicPem: string
}

/** A freshly generated HMAC secret, in every form a test needs. */
export interface TestSecret {
  readonly alg: SymmetricAlgorithm
  /** The key id: the secret's RFC 7638 JWK thumbprint. */
  readonly kid: string
  /** The raw secret: as many random bytes as the hash output (RFC 7518 §3.2). */
  readonly secret: Uint8Array
  /** The secret as a Node secret `KeyObject`. */
  readonly key: KeyObject
  /** The secret as an `oct` JWK with `kid`, `alg` and `use: 'sig'`. */
  readonly jwk: Readonly<JWK>
}

type KeySpec =
  { type: 'rsa' } | { type: 'ec'; namedCurve: 'P-256' | 'P-384' | 'P-521' } | { type: 'ed25519' }

function keySpec(alg: AsymmetricAlgorithm): KeySpec {
  // PS* keys are plain RSA keys: an `rsa-pss` KeyObject cannot be exported as a JWK, and
  // RFC 7518 §3.5 uses the same `RSA` key type for both.
  switch (alg) {
    case 'RS256':
    case 'RS384':
    case 'RS512':
    case 'PS256':
    case 'PS384':
    case 'PS512':
      return { type: 'rsa' }
    case 'ES256':
      return { type: 'ec', namedCurve: 'P-256' }
    case 'ES384':
      return { type: 'ec', namedCurve: 'P-384' }
    case 'ES512':
      return { type: 'ec', namedCurve: 'P-521' }
    case 'EdDSA':
      return { type: 'ed25519' }
  }
}

/**
 * Whether `value` is an algorithm {@link generateKeyPair} accepts.
 *
 * @example
 * ```ts
 * isAsymmetricAlgorithm('ES256') // true
 * isAsymmetricAlgorithm('HS256') // false
 * ```
 */
export function isAsymmetricAlgorithm(value: unknown): value is AsymmetricAlgorithm {
  return (ASYMMETRIC_ALGORITHMS as readonly unknown[]).includes(value)
}

/**
 * Whether `value` is an algorithm {@link generateSecret} accepts.
 *
 * @example
 * ```ts
 * isSymmetricAlgorithm('HS512') // true
 * ```
 */
export function isSymmetricAlgorithm(value: unknown): value is SymmetricAlgorithm {
  return (SYMMETRIC_ALGORITHMS as readonly unknown[]).includes(value)
}

function checkKid(kid: unknown): void {
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) {
    throw invalidArgument('options.kid', 'must be a non-empty string')
  }
}

/**
 * Generates a signing key pair for `alg`: RSA (2048 bits unless told) for RS* and PS*, P-256,
 * P-384 or P-521 for ES256, ES384 and ES512, Ed25519 for EdDSA.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for an unknown algorithm or a bad option.
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.1 RFC 7518 §3.1
 * @see https://www.rfc-editor.org/rfc/rfc7638 RFC 7638 (JWK thumbprint, the default kid)
 * @example
 * ```ts
 * const pair = await generateKeyPair('ES256')
 * const jwks = { keys: [pair.publicJwk] }
 * ```
 */
export async function generateKeyPair(
  alg: AsymmetricAlgorithm,
  options: GenerateKeyPairOptions = {},
): Promise<TestKeyPair> {
  if (!isAsymmetricAlgorithm(alg)) {
    throw invalidArgument('alg', `must be one of ${ASYMMETRIC_ALGORITHMS.join(', ')}`)
  }
  checkKid(options.kid)
  const spec = keySpec(alg)
  let pair: { privateKey: KeyObject; publicKey: KeyObject }
  switch (spec.type) {
    case 'rsa': {
      const modulusLength = options.modulusLength ?? 2048
      if (!Number.isSafeInteger(modulusLength) || modulusLength < 2048) {
        throw invalidArgument('options.modulusLength', 'must be an integer of at least 2048')
      }
      pair = await generate('rsa', { modulusLength })
      break
    }
    case 'ec':
      pair = await generate('ec', { namedCurve: spec.namedCurve })
      break
    case 'ed25519':
      pair = await generate('ed25519')
      break
  }
  const publicBase = pair.publicKey.export({ format: 'jwk' }) as JWK
  const kid = options.kid ?? (await calculateJwkThumbprint(publicBase, 'sha256'))
  const extra = { kid, alg, use: 'sig' }
  return Object.freeze({
    alg,
    kid,
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    publicJwk: Object.freeze({ ...publicBase, ...extra }),
    privateJwk: Object.freeze({ ...(pair.privateKey.export({ format: 'jwk' }) as JWK), ...extra }),
    privatePem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    publicPem: pair.publicKey.export({ format: 'pem', type: 'spki' }) as string,
  })
}

const SECRET_BYTES: Readonly<Record<SymmetricAlgorithm, number>> = {
  HS256: 32,
  HS384: 48,
  HS512: 64,
}

/**
 * Generates a random HMAC secret for `alg`, as long as the hash output (RFC 7518 §3.2 requires at
 * least that much).
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for an unknown algorithm.
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.2 RFC 7518 §3.2
 * @example
 * ```ts
 * const secret = await generateSecret('HS256')
 * const token = await createToken({ key: secret, audience: 'https://api.example.com' })
 * ```
 */
export async function generateSecret(
  alg: SymmetricAlgorithm,
  options: Pick<GenerateKeyPairOptions, 'kid'> = {},
): Promise<TestSecret> {
  if (!isSymmetricAlgorithm(alg)) {
    throw invalidArgument('alg', `must be one of ${SYMMETRIC_ALGORITHMS.join(', ')}`)
  }
  checkKid(options.kid)
  const secret = new Uint8Array(randomBytes(SECRET_BYTES[alg]))
  const base: JWK = { kty: 'oct', k: Buffer.from(secret).toString('base64url') }
  const kid = options.kid ?? (await calculateJwkThumbprint(base, 'sha256'))
  return Object.freeze({
    alg,
    kid,
    secret,
    key: createSecretKey(secret),
    jwk: Object.freeze({ ...base, kid, alg, use: 'sig' }),
  })
}
