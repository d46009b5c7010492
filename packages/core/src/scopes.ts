/**
 * Scope helpers. A scope token is `1*( %x21 / %x23-5B / %x5D-7E )` and a scope claim is a
 * space-separated list of them.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.3 RFC 6749 §3.3
 */

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/

/** Whether `value` is one valid scope token (no spaces, quotes or backslashes). */
export function isScopeToken(value: unknown): value is string {
  return typeof value === 'string' && SCOPE_TOKEN.test(value)
}

/**
 * Parses a scope claim: a space-separated string (`scope`, RFC 9068 / RFC 7662) or an array of
 * strings (`scp`). Duplicates and empty entries are dropped; anything that is not a valid scope
 * token is ignored rather than trusted. Any other type yields `[]`.
 *
 * @example
 * ```ts
 * parseScopes('read  write read') // ['read', 'write']
 * parseScopes(['a', 'b'])         // ['a', 'b']
 * ```
 */
export function parseScopes(claim: unknown): string[] {
  let parts: unknown[]
  if (typeof claim === 'string') {
    // One scope, the most common claim: no list to split out and search.
    if (!claim.includes(' ')) return isScopeToken(claim) ? [claim] : []
    parts = claim.split(' ')
  } else if (Array.isArray(claim)) parts = claim
  else return []
  // Real claims hold a handful of scopes: a linear duplicate check beats building a Set. Long
  // lists go through a Set so that a token with thousands of scopes costs linear time.
  if (parts.length > SMALL_SCOPE_LIST) {
    const seen = new Set<string>()
    for (const part of parts) {
      if (isScopeToken(part)) seen.add(part)
    }
    return [...seen]
  }
  const scopes: string[] = []
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]
    if (isScopeToken(part) && !scopes.includes(part)) scopes.push(part)
  }
  return scopes
}

const SMALL_SCOPE_LIST = 16

/** Formats scopes as a space-separated string, the form of `scope` claims and challenges. */
export function formatScopes(scopes: readonly string[]): string {
  return [...new Set(scopes)].join(' ')
}

/** Whether `granted` contains every scope in `required` (true when nothing is required). */
export function hasAllScopes(granted: readonly string[], required: readonly string[]): boolean {
  for (const scope of required) {
    if (!granted.includes(scope)) return false
  }
  return true
}

/** Whether `granted` contains at least one scope of `anyOf` (false when `anyOf` is empty). */
export function hasAnyScope(granted: readonly string[], anyOf: readonly string[]): boolean {
  for (const scope of anyOf) {
    if (granted.includes(scope)) return true
  }
  return false
}

/** The scopes of `required` that `granted` lacks, in the order of `required`. */
export function missingScopes(granted: readonly string[], required: readonly string[]): string[] {
  return required.filter((scope) => !granted.includes(scope))
}
