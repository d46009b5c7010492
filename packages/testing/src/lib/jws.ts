import type { KeyObject } from 'node:crypto'
import { CompactSign, type CompactJWSHeaderParameters } from 'jose'
import type { TestKeyPair, TestSecret } from '../keys.js'

/** Any key this package signs with. */
export type SigningKeyInput = TestKeyPair | TestSecret

/** The key material that signs: the private key of a pair, or the secret. */
export function signingMaterial(key: SigningKeyInput): KeyObject {
  return 'privateKey' in key ? key.privateKey : key.key
}

/** base64url of a JSON value, without padding (RFC 7515 §2). */
export function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
}

/**
 * Signs a compact JWS with jose. Extension parameters listed in `crit` are declared understood so
 * that jose lets a deliberately critical header through; verifiers must still refuse it.
 */
export async function signCompact(
  header: Record<string, unknown>,
  payload: Uint8Array,
  key: KeyObject | Uint8Array,
): Promise<string> {
  const crit = Array.isArray(header.crit)
    ? Object.fromEntries((header.crit as unknown[]).map((name) => [String(name), true]))
    : undefined
  return new CompactSign(payload)
    .setProtectedHeader(header as CompactJWSHeaderParameters)
    .sign(key, crit === undefined ? undefined : { crit })
}
