import type { KeyObject } from 'node:crypto'
import {
  TEST_AUDIENCE,
  TEST_ISSUER,
  createToken,
  generateKeyPair,
  generateSecret,
  type TestKeyPair,
  type TestSecret,
} from '@bearerkit/testing'
import type { BenchAlgorithm } from './raw-jwt.js'

export const ISSUER = TEST_ISSUER
export const AUDIENCE = TEST_AUDIENCE
export const SCOPES = ['mcp:tools']

/** Signing material of one algorithm and the verification key every contender gets. */
export interface AlgorithmKeys {
  readonly alg: BenchAlgorithm
  readonly signing: TestKeyPair | TestSecret
  /** Public key (or the secret) as a prepared `KeyObject`. */
  readonly verifyKey: KeyObject
  /** PEM SPKI, or the raw secret: the form a user would put in a config file. */
  readonly keyInput: string | Uint8Array
}

/** Fresh keys for `alg`. */
export async function keysFor(alg: BenchAlgorithm): Promise<AlgorithmKeys> {
  if (alg === 'HS256') {
    const secret = await generateSecret('HS256')
    return { alg, signing: secret, verifyKey: secret.key, keyInput: secret.secret }
  }
  const pair = await generateKeyPair(alg)
  return { alg, signing: pair, verifyKey: pair.publicKey, keyInput: pair.publicPem }
}

/** An RFC 9068 access token (`typ: at+jwt`) for {@link AUDIENCE}, valid for an hour. */
export function mint(keys: AlgorithmKeys): Promise<string> {
  return createToken({
    key: keys.signing,
    issuer: ISSUER,
    audience: AUDIENCE,
    scopes: SCOPES,
    expiresIn: 3600,
  })
}

/** `count` distinct tokens (each has its own `jti`). */
export async function mintPool(keys: AlgorithmKeys, count: number): Promise<string[]> {
  const pool: string[] = []
  for (let i = 0; i < count; i++) pool.push(await mint(keys))
  return pool
}
