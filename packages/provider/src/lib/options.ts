import { invalidArgument, isScopeToken } from '@bearerkit/core'
import { comparableAudience } from './audience.js'

/** Options shared by the verifiers of this package (provider-backed and MCP SDK-backed). */
export interface AudienceScopeOptions {
  audience?: string | readonly string[] | null
  requiredScopes?: readonly string[]
  now?: () => number
}

/** The checked form of {@link AudienceScopeOptions}. */
export interface ResolvedOptions {
  /** Accepted audiences in comparable form; `null` when the caller opted out of the check. */
  readonly audience: ReadonlySet<string> | null
  readonly requiredScopes: readonly string[]
  readonly now: () => number
}

/**
 * Checks the options up front. `audience` is required: a token minted for another resource server
 * must not be accepted here (RFC 8707, MCP authorization), and skipping the check takes an
 * explicit `null`.
 */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgument(
      'options',
      'must be an object with at least audience (a string, an array of strings, or null)',
    )
  }
  const { audience, requiredScopes, now } = options as AudienceScopeOptions
  let audiences: ReadonlySet<string> | null
  if (audience === undefined) {
    throw invalidArgument(
      'options.audience',
      'is required: give the resource identifier(s) tokens must be issued for, or null to accept tokens for any audience',
    )
  } else if (audience === null) {
    audiences = null
  } else if (typeof audience === 'string' && audience !== '') {
    audiences = new Set([comparableAudience(audience)])
  } else if (
    Array.isArray(audience) &&
    audience.length > 0 &&
    audience.every((a) => typeof a === 'string' && a !== '')
  ) {
    audiences = new Set((audience as string[]).map(comparableAudience))
  } else {
    throw invalidArgument(
      'options.audience',
      'must be a non-empty string, a non-empty array of them, or null',
    )
  }
  let scopes: readonly string[] = Object.freeze([])
  if (requiredScopes !== undefined) {
    if (!Array.isArray(requiredScopes) || !requiredScopes.every((s) => isScopeToken(s))) {
      throw invalidArgument(
        'options.requiredScopes',
        'must be an array of scope tokens (RFC 6749 §3.3: no spaces, quotes or backslashes)',
      )
    }
    scopes = Object.freeze([...new Set(requiredScopes)])
  }
  if (now !== undefined && typeof now !== 'function') {
    throw invalidArgument(
      'options.now',
      'must be a function returning milliseconds since the epoch',
    )
  }
  return Object.freeze({ audience: audiences, requiredScopes: scopes, now: now ?? Date.now })
}
