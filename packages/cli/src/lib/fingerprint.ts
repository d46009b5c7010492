import { createHash } from 'node:crypto'

/**
 * A short, one-way name for a token that can be printed where the token never may: the first 8
 * characters of the base64url SHA-256 of the token. Enough to tell two tokens apart in a
 * terminal, too short to help anyone guess one.
 */
export function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 8)
}
