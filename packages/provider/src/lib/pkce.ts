import { createHash, timingSafeEqual } from 'node:crypto'

// RFC 7636 §4.1: code_verifier = 43*128unreserved; §4.2: an S256 challenge is the unpadded
// base64url of a SHA-256 digest, hence exactly 43 characters.
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/

/** Whether `value` has the RFC 7636 §4.1 syntax of a code verifier. */
export function isCodeVerifier(value: unknown): value is string {
  return typeof value === 'string' && VERIFIER.test(value)
}

/** Whether `value` can be an S256 code challenge (RFC 7636 §4.2). */
export function isS256Challenge(value: unknown): value is string {
  return typeof value === 'string' && S256_CHALLENGE.test(value)
}

/** RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge, in constant time. */
export function verifyS256(verifier: string, challenge: string): boolean {
  const computed = createHash('sha256').update(verifier, 'ascii').digest()
  const expected = Buffer.from(challenge, 'base64url')
  return expected.length === computed.length && timingSafeEqual(expected, computed)
}

/** Compares two secrets in constant time (for equal lengths). */
export function sameSecret(given: string, stored: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(stored).digest()
  return timingSafeEqual(a, b)
}
