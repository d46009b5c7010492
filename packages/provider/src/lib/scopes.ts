import { isScopeToken } from '@bearerkit/core'

/**
 * Parses a request's `scope` parameter (RFC 6749 §3.3): `undefined` when absent, the scopes
 * without duplicates when valid, `null` when some entry is not a scope token.
 */
export function parseRequestedScopes(scope: string | undefined): string[] | undefined | null {
  if (scope === undefined) return undefined
  const parts = scope.split(' ')
  if (!parts.every((p) => isScopeToken(p))) return null
  return [...new Set(parts)]
}
