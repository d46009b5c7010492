/**
 * Unverified looks at a token's shape, for routing only. Nothing read here may be trusted: it only
 * chooses which verifier gets to check the token.
 */

const SEGMENT = /^[A-Za-z0-9_-]+$/

/** Largest token inspected for routing; anything larger is treated as opaque. */
const MAX_INSPECTED = 64 * 1024

/**
 * Whether `token` has the shape of a compact JWS (RFC 7515 §7.1): three base64url segments whose
 * first decodes to a JSON object with a string `alg`. A JWE (five segments) is not a JWS.
 */
export function isCompactJwt(token: string): boolean {
  return decodeJwtHeader(token) !== null
}

function decodeSegment(segment: string): Record<string, unknown> | null {
  if (!SEGMENT.test(segment)) return null
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null
  } catch {
    return null
  }
}

function segments(token: string): [string, string, string] | null {
  if (token.length > MAX_INSPECTED) return null
  const parts = token.split('.')
  if (parts.length !== 3) return null
  return parts as [string, string, string]
}

/** The decoded, UNVERIFIED protected header of a compact JWS, or `null` when it is not one. */
export function decodeJwtHeader(token: string): Record<string, unknown> | null {
  const parts = segments(token)
  if (parts === null) return null
  const header = decodeSegment(parts[0])
  if (header === null || typeof header.alg !== 'string') return null
  return header
}

/**
 * The UNVERIFIED `iss` of a compact JWS, or `null` when the token is not one or has no string
 * `iss`. Use it to pick a verifier, never to decide anything else.
 */
export function peekIssuer(token: string): string | null {
  const parts = segments(token)
  if (parts === null) return null
  const header = decodeSegment(parts[0])
  if (header === null || typeof header.alg !== 'string') return null
  const payload = decodeSegment(parts[1])
  return payload !== null && typeof payload.iss === 'string' ? payload.iss : null
}
