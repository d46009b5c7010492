import type { AccessToken } from './access-token.js'

/** The principal a token speaks for: who the client is, who issued it, and the end user. */
export type PrincipalComponents = readonly [
  clientId: string,
  issuer: string | null,
  subject: string | null,
]

/**
 * The principal triple of a token: `[clientId, issuer, subject]`, with `null` for a missing issuer
 * or subject. Bind a session to it when the session is created.
 *
 * @example
 * ```ts
 * sessions.set(id, principalComponents(accessToken))
 * ```
 */
export function principalComponents(token: AccessToken): PrincipalComponents {
  return Object.freeze([token.clientId, token.issuer ?? null, token.subject ?? null] as const)
}

/**
 * Whether two principals are the same: all three components equal, and `null` equal only to
 * `null`. A component a verifier never supplies is `null` on both sides and so still matches; a
 * token without `sub` never matches a session created by a token with one (a client-credentials
 * token of the same client would otherwise take over a user's session), and an answer without
 * `iss` never matches one with it. An empty client id matches nothing.
 *
 * @example
 * ```ts
 * if (!samePrincipal(sessions.get(id), principalComponents(accessToken))) reply.code(404)
 * ```
 * @see https://modelcontextprotocol.io/specification/2025-06-18/basic/security_best_practices#session-hijacking
 */
export function samePrincipal(a: PrincipalComponents, b: PrincipalComponents): boolean {
  // A client id is required of every AccessToken; an empty one is a broken principal, not a match.
  if (typeof a[0] !== 'string' || a[0] === '') return false
  return a[0] === b[0] && same(a[1], b[1]) && same(a[2], b[2])
}

// null (or undefined, from a principal stored by older code) equals only null; strings compare
// exactly. Anything else (a number read back from a store, say) equals nothing.
function same(left: unknown, right: unknown): boolean {
  if (left === null || left === undefined) return right === null || right === undefined
  return typeof left === 'string' && left === right
}
