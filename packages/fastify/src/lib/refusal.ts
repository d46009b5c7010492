import {
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
  VerifierUnavailableError,
  formatChallenge,
  formatScopes,
  type BearerError,
} from '@bearerkit/core'
import type { Settings } from './settings.js'

// RFC 6750 §3: the challenge goes in WWW-Authenticate. Header names are lower case, as Node sends
// them and as Fastify's reply.headers() merges them.
const WWW_AUTHENTICATE = 'www-authenticate'

interface ChallengeParts {
  error?: string
  description?: string
  scopes?: readonly string[]
}

function challenge(settings: Settings, parts: ChallengeParts): Record<string, string> {
  return {
    [WWW_AUTHENTICATE]: formatChallenge({
      realm: settings.realm,
      error: parts.error,
      error_description: settings.exposeErrorDescription ? parts.description : undefined,
      scope:
        parts.scopes === undefined || parts.scopes.length === 0
          ? undefined
          : formatScopes(parts.scopes),
      // RFC 9728 §5.1: every challenge points at the metadata so a client can find the
      // authorization server.
      resource_metadata: settings.resource?.metadataUrl,
    }),
  }
}

/**
 * 401 without an error code (RFC 6750 §3.1: the request carried no credentials). `scope` tells the
 * client what to ask for (MCP authorization, scope selection).
 */
export function missingToken(settings: Settings, scopes: readonly string[]): MissingTokenError {
  const description = 'Authentication is required'
  return new MissingTokenError(description, { headers: challenge(settings, { scopes }) })
}

/** 400 `invalid_request` (RFC 6750 §3.1). */
export function invalidRequest(
  settings: Settings,
  description: string,
  cause?: unknown,
): InvalidRequestError {
  return new InvalidRequestError(description, {
    cause,
    headers: challenge(settings, { error: 'invalid_request', description }),
  })
}

/** 401 `invalid_token` (RFC 6750 §3.1) with a stable reason. */
export function invalidToken(
  settings: Settings,
  description: string,
  reason: string,
  scopes: readonly string[],
): InvalidTokenError {
  return new InvalidTokenError(description, {
    reason,
    headers: challenge(settings, { error: 'invalid_token', description, scopes }),
  })
}

/** 403 `insufficient_scope` listing every scope the request needs (RFC 6750 §3.1). */
export function insufficientScope(
  settings: Settings,
  scopes: readonly string[],
): InsufficientScopeError {
  const description = 'The access token lacks a required scope'
  return new InsufficientScopeError(scopes, description, {
    headers: challenge(settings, { error: 'insufficient_scope', description, scopes }),
  })
}

/** The message of every 503: the verifier's own message may name internal hosts. */
export const UNAVAILABLE_DESCRIPTION = 'The token verifier is unavailable'

/**
 * 503 with `Retry-After`: validity could not be decided. No challenge: the client's credentials
 * are not at fault.
 */
export function unavailable(
  settings: Settings,
  reason: string,
  retryAfter: number | undefined,
  cause: unknown,
): VerifierUnavailableError {
  return new VerifierUnavailableError(UNAVAILABLE_DESCRIPTION, {
    reason,
    retryAfter: retryAfter ?? settings.retryAfter,
    cause,
  })
}

/** The JSON body of a refusal: `{ error, error_description }`. */
export interface RefusalBody {
  error: string
  error_description?: string
}

/**
 * The body the plugin renders. `error` is the RFC 6750 code; the two answers RFC 6750 gives no
 * code (401 without credentials, 503) use `unauthorized` and `temporarily_unavailable`.
 */
export function refusalBody(error: BearerError, settings: Settings): RefusalBody {
  const code =
    error.error ?? (error.statusCode === 503 ? 'temporarily_unavailable' : 'unauthorized')
  return settings.exposeErrorDescription
    ? { error: code, error_description: error.message }
    : { error: code }
}
