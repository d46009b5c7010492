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
 * Whether two principals are the same. A component missing (null or empty) on either side is
 * skipped, as the MCP Python SDK does, so a token without `sub` still binds by client and issuer.
 * Two principals with nothing in common to compare are not the same.
 */
export function samePrincipal(a: PrincipalComponents, b: PrincipalComponents): boolean {
  let compared = 0
  for (let i = 0; i < 3; i++) {
    const left = a[i]
    const right = b[i]
    // null, undefined and '' all mean "not known": skipped rather than compared.
    if (!left || !right) continue
    if (left !== right) return false
    compared++
  }
  return compared > 0
}
