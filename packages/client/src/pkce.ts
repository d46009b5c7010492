import { createHash, randomBytes } from 'node:crypto'

/** A PKCE verifier and its S256 challenge. */
export interface PkcePair {
  codeVerifier: string
  codeChallenge: string
  codeChallengeMethod: 'S256'
}

/**
 * A fresh PKCE pair: a verifier of 32 random bytes (43 base64url characters, within the 43-128 of
 * RFC 7636 §4.1) and its S256 challenge (§4.2). `plain` is never used: the MCP specification
 * requires S256 where it can be used.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4 RFC 7636 §4
 * @example
 * ```ts
 * const { codeVerifier, codeChallenge } = createPkcePair()
 * ```
 */
export function createPkcePair(): PkcePair {
  const codeVerifier = randomBytes(32).toString('base64url')
  return {
    codeVerifier,
    codeChallenge: pkceChallenge(codeVerifier),
    codeChallengeMethod: 'S256',
  }
}

/** The S256 challenge of a verifier: BASE64URL(SHA256(ASCII(verifier))) (RFC 7636 §4.2). */
export function pkceChallenge(codeVerifier: string): string {
  return createHash('sha256').update(codeVerifier, 'ascii').digest('base64url')
}
