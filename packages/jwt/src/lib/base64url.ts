/**
 * Strict base64url (RFC 4648 §5, without padding, as RFC 7515 §2 requires). Node's decoder skips
 * characters it does not know and ignores non-zero trailing bits, so two different strings could
 * decode to the same bytes; here only the one canonical encoding of a byte string is accepted.
 */

const ALPHABET = /^[A-Za-z0-9_-]+$/

/** The 6-bit value of one base64url character (which must be one). */
export function sextet(code: number): number {
  if (code >= 0x61) return code - 0x61 + 26 // a-z
  if (code >= 0x41) return code === 0x5f ? 63 : code - 0x41 // A-Z, or _
  if (code >= 0x30) return code - 0x30 + 52 // 0-9
  return 62 // -
}

/** Whether `segment` is non-empty, canonical, unpadded base64url. */
export function isBase64url(segment: string): boolean {
  if (!ALPHABET.test(segment)) return false
  const rest = segment.length & 3
  if (rest === 0) return true
  if (rest === 1) return false
  // RFC 4648 §3.5: the bits after the last full byte must be zero.
  const last = sextet(segment.charCodeAt(segment.length - 1))
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0
}

/** Decodes canonical base64url, or returns `null` when `segment` is not that. */
export function decodeBase64url(segment: string): Buffer | null {
  return isBase64url(segment) ? Buffer.from(segment, 'base64url') : null
}
