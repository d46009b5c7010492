/**
 * Strict base64url (RFC 4648 §5, without padding, as RFC 7515 §2 requires). Node's decoder skips
 * characters it does not know and ignores non-zero trailing bits, so two different strings could
 * decode to the same bytes; here only the one canonical encoding of a byte string is accepted.
 */

const ALPHABET = /^[A-Za-z0-9_-]+$/

function sextet(code: number): number {
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

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Decodes a base64url segment holding a UTF-8 JSON object (a JOSE header or a JWT claims set), or
 * returns `null`. Invalid UTF-8 and a byte-order mark are refused rather than repaired (RFC 8259
 * §8.1), arrays and primitives are refused (RFC 7515 §4, RFC 7519 §7.2 step 10).
 */
export function decodeJsonObject(segment: string): Record<string, unknown> | null {
  const bytes = decodeBase64url(segment)
  if (bytes === null) return null
  let value: unknown
  try {
    value = JSON.parse(utf8.decode(bytes))
  } catch {
    return null
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null
}
