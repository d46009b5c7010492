import { SUPPORTED_ALGORITHMS, type JwsAlgorithm } from '../algorithms.js'

/** The key family an algorithm needs (RFC 7518 §3.1, RFC 8037 §3.1). */
export type KeyFamily = 'RSA' | 'EC' | 'OKP' | 'oct'

/** What verifying one algorithm takes. */
export interface AlgorithmSpec {
  readonly family: KeyFamily
  /** Digest for node:crypto, or `null` for EdDSA (the curve fixes the hash). */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null
  /** RSASSA-PSS (RFC 7518 §3.5) rather than RSASSA-PKCS1-v1_5 (§3.3). */
  readonly pss: boolean
  /** The curves this algorithm may use, for EC and OKP keys. */
  readonly curves: readonly string[]
  /** Minimum shared-secret length in bytes for HS* (RFC 7518 §3.2: at least the hash size). */
  readonly minSecret: number
}

const rsa = (hash: AlgorithmSpec['hash'], pss: boolean): AlgorithmSpec => ({
  family: 'RSA',
  hash,
  pss,
  curves: [],
  minSecret: 0,
})

export const ALGORITHMS: ReadonlyMap<string, AlgorithmSpec> = new Map<JwsAlgorithm, AlgorithmSpec>([
  ['RS256', rsa('sha256', false)],
  ['RS384', rsa('sha384', false)],
  ['RS512', rsa('sha512', false)],
  ['PS256', rsa('sha256', true)],
  ['PS384', rsa('sha384', true)],
  ['PS512', rsa('sha512', true)],
  // RFC 7518 §3.4: each ES* algorithm is bound to exactly one curve.
  ['ES256', { family: 'EC', hash: 'sha256', pss: false, curves: ['P-256'], minSecret: 0 }],
  ['ES384', { family: 'EC', hash: 'sha384', pss: false, curves: ['P-384'], minSecret: 0 }],
  ['ES512', { family: 'EC', hash: 'sha512', pss: false, curves: ['P-521'], minSecret: 0 }],
  ['EdDSA', { family: 'OKP', hash: null, pss: false, curves: ['Ed25519', 'Ed448'], minSecret: 0 }],
  ['Ed25519', { family: 'OKP', hash: null, pss: false, curves: ['Ed25519'], minSecret: 0 }],
  ['HS256', { family: 'oct', hash: 'sha256', pss: false, curves: [], minSecret: 32 }],
  ['HS384', { family: 'oct', hash: 'sha384', pss: false, curves: [], minSecret: 48 }],
  ['HS512', { family: 'oct', hash: 'sha512', pss: false, curves: [], minSecret: 64 }],
])

/** Whether `alg` is one of {@link SUPPORTED_ALGORITHMS}. */
export function isSupportedAlgorithm(alg: unknown): alg is JwsAlgorithm {
  return typeof alg === 'string' && (SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)
}
