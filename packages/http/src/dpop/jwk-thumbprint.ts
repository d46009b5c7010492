import { invalidArgument } from '@bearerkit/core'
import { sha256Base64url } from '../lib/dpop-crypto.js'

/**
 * The members RFC 7638 §3.2 hashes for each key type, in lexicographic order (the order of the
 * canonical JSON).
 */
const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
}

/** The RFC 7638 thumbprint input of a public JWK, and the members it is made of. */
export interface ThumbprintInput {
  /** The canonical JSON of the required members (RFC 7638 §3.2). */
  readonly canonical: string
  /** The required members, as strings. */
  readonly members: Record<string, string>
}

/**
 * The RFC 7638 thumbprint input of `jwk`, or `null` when its `kty` is not EC, RSA or OKP or a
 * required member is missing or not a string.
 */
export function thumbprintInput(jwk: Readonly<Record<string, unknown>>): ThumbprintInput | null {
  const kty = jwk.kty
  if (typeof kty !== 'string' || !Object.hasOwn(REQUIRED_MEMBERS, kty)) return null
  const names = REQUIRED_MEMBERS[kty] as readonly string[]
  const members: Record<string, string> = {}
  let canonical = '{'
  for (const name of names) {
    const value = Object.hasOwn(jwk, name) ? jwk[name] : undefined
    if (typeof value !== 'string' || value === '') return null
    members[name] = value
    // JSON.stringify gives the RFC 8259 escaping RFC 7638 §3.3 asks for; base64url values and
    // the key type names never need any.
    canonical += `${canonical === '{' ? '' : ','}"${name}":${JSON.stringify(value)}`
  }
  return { canonical: `${canonical}}`, members }
}

/**
 * The JWK SHA-256 thumbprint (RFC 7638) of a public key, base64url without padding: the value a
 * DPoP-bound token carries as `cnf.jkt` (RFC 9449 §6.1).
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) when `kty` is not EC, RSA or OKP or a required member
 * is missing.
 * @see https://www.rfc-editor.org/rfc/rfc7638#section-3 RFC 7638 §3 (JWK thumbprint)
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-6.1 RFC 9449 §6.1 (`jkt`)
 * @example
 * ```ts
 * const jkt = jwkThumbprint(publicJwk) // 43 base64url characters
 * if (accessToken.claims.cnf?.jkt !== jkt) refuse()
 * ```
 */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string {
  const input = typeof jwk === 'object' && jwk !== null ? thumbprintInput(jwk) : null
  if (input === null) {
    throw invalidArgument('jwk', 'must be an EC, RSA or OKP JWK with its required members')
  }
  return sha256Base64url(input.canonical)
}
