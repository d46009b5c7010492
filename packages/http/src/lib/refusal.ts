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
import {
  DpopProofError,
  isDpopProofError,
  senderConstrainedChallenge,
} from '../dpop/dpop-challenge.js'
import type { SenderConstraintRefusal } from '../dpop/sender-constraint.js'
import type { GateResponse } from '../response.js'
import type { Settings } from './settings.js'

/** The message of every 503: the verifier's own message may name internal hosts. */
export const UNAVAILABLE_DESCRIPTION = 'The token verifier is unavailable'

// RFC 9111 §5.2.2.5: a refusal depends on the request's credentials; no cache may reuse it.
const NO_STORE = 'no-store'
const JSON_TYPE = 'application/json; charset=utf-8'

/**
 * The headers of a refusal: the RFC 6750 §3 challenge (or, for a 503, `Retry-After` and no
 * challenge: the client's credentials are not at fault) and `Cache-Control`. This is the one
 * place response headers are chosen; sender-constrained tokens (RFC 9449 `DPoP` challenge,
 * `DPoP-Nonce`) add theirs here.
 */
export function refusalHeaders(
  settings: Settings,
  error: string | undefined,
  description: string,
  scopes: readonly string[] | undefined,
  dpop = false,
): Record<string, string> {
  const params = {
    realm: settings.realm,
    error,
    error_description:
      settings.exposeErrorDescription && error !== undefined ? description : undefined,
    scope: scopes === undefined || scopes.length === 0 ? undefined : formatScopes(scopes),
    // RFC 9728 §5.1: every challenge points at the metadata so a client can find the
    // authorization server.
    resource_metadata: settings.resource?.metadataUrl,
  }
  return {
    // RFC 9449 §7.1: where DPoP is accepted, its challenge goes beside Bearer's; the error goes
    // on the challenge of the scheme the client used (`dpop`).
    'www-authenticate':
      settings.senderConstraint === null
        ? formatChallenge(params)
        : senderConstrainedChallenge(settings.senderConstraint, params, dpop),
    'cache-control': NO_STORE,
  }
}

/**
 * 401 for a request sent with the DPoP scheme (RFC 9449 §7.1): a refused proof
 * (`invalid_dpop_proof`, or `use_dpop_nonce` with a fresh `DPoP-Nonce`), or a refused token
 * (`invalid_token`), the error on the DPoP challenge.
 */
export function dpopRefusal(
  settings: Settings,
  refusal: Omit<SenderConstraintRefusal, 'reason'> & { readonly reason: string },
  scopes: readonly string[],
): DpopProofError {
  const nonce = refusal.error === 'use_dpop_nonce' ? settings.senderConstraint?.nonce() : undefined
  const headers = refusalHeaders(settings, refusal.error, refusal.description, scopes, true)
  if (nonce !== undefined) headers['dpop-nonce'] = nonce
  return new DpopProofError(refusal, nonce, headers)
}

function unavailableHeaders(retryAfter: number): Record<string, string> {
  // RFC 9110 §10.2.3: Retry-After tells the client when the decision may be possible.
  return { 'retry-after': String(retryAfter), 'cache-control': NO_STORE }
}

/** 401 without an error code (RFC 6750 §3.1: no usable credentials). */
export function missingToken(
  settings: Settings,
  description: string,
  scopes: readonly string[],
): MissingTokenError {
  return new MissingTokenError(description, {
    headers: refusalHeaders(settings, undefined, description, scopes),
  })
}

/** 400 `invalid_request` (RFC 6750 §3.1). */
export function invalidRequest(settings: Settings, description: string): InvalidRequestError {
  return new InvalidRequestError(description, {
    headers: refusalHeaders(settings, 'invalid_request', description, undefined),
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
    headers: refusalHeaders(settings, 'invalid_token', description, scopes),
  })
}

const SCOPE_DESCRIPTION = 'The access token lacks a required scope'

/** 403 `insufficient_scope` listing every scope the request needs (RFC 6750 §3.1). */
export function insufficientScope(
  settings: Settings,
  scopes: readonly string[],
): InsufficientScopeError {
  return new InsufficientScopeError(scopes, SCOPE_DESCRIPTION, {
    headers: refusalHeaders(settings, 'insufficient_scope', SCOPE_DESCRIPTION, scopes),
  })
}

/** 503 with `Retry-After`: validity could not be decided. */
export function unavailable(
  settings: Settings,
  reason: string,
  retryAfter: number | undefined,
  cause: unknown,
): VerifierUnavailableError {
  const seconds = retryAfter ?? settings.retryAfter
  return new VerifierUnavailableError(UNAVAILABLE_DESCRIPTION, {
    reason,
    retryAfter: seconds,
    cause,
    headers: { 'cache-control': NO_STORE },
  })
}

const STATUS: Readonly<Record<string, number>> = Object.freeze({
  [MissingTokenError.code]: 401,
  [InvalidRequestError.code]: 400,
  [InvalidTokenError.code]: 401,
  [InsufficientScopeError.code]: 403,
  [VerifierUnavailableError.code]: 503,
})

/**
 * The RFC 6750 response of any `BearerError`, whoever constructed it: the challenge comes from
 * the gate's settings (realm, `resource_metadata`), never from the error, so an error an
 * application throws itself (`new InsufficientScopeError([...])`) still leaves as a challenge a
 * client can act on. `scopes` are the request's scopes, used when the error names none.
 */
export function responseOf(
  settings: Settings,
  error: BearerError,
  scopes: readonly string[],
  method: string,
): GateResponse {
  let headers: Record<string, string>
  // The status follows the code (RFC 6750 §3.1), not a statusCode the constructor was given;
  // callers pass only errors isBearerError accepts, whose codes are all in STATUS.
  const status = STATUS[error.code] as number
  if (status === 503) {
    const given = (error as { retryAfter?: unknown }).retryAfter
    headers = unavailableHeaders(
      typeof given === 'number' && Number.isFinite(given) && given >= 0
        ? Math.ceil(given)
        : settings.retryAfter,
    )
  } else {
    const own = (error as { scopes?: unknown }).scopes
    const needed =
      error.error === 'insufficient_scope' &&
      Array.isArray(own) &&
      own.length > 0 &&
      own.every((scope) => typeof scope === 'string')
        ? own
        : scopes
    const dpop = isDpopProofError(error)
    headers = refusalHeaders(
      settings,
      dpop ? error.dpopError : error.error,
      error.message,
      // RFC 6750 §3: scope accompanies 401 and 403 answers, not a malformed request.
      status === 400 ? undefined : needed,
      dpop,
    )
    // RFC 9449 §9: the nonce the client must put in its next proof.
    if (dpop && typeof error.nonce === 'string') headers['dpop-nonce'] = error.nonce
  }
  headers['content-type'] = JSON_TYPE
  return {
    status,
    headers,
    body: method === 'HEAD' ? null : JSON.stringify(refusalBody(settings, error, status)),
  }
}

/** The JSON body of a refusal: `{ error, error_description }`. */
export interface RefusalBody {
  error: string
  error_description?: string
}

/**
 * `error` is the RFC 6750 code; the two answers RFC 6750 gives no code (401 without credentials,
 * 503) use `unauthorized` and `temporarily_unavailable`.
 */
export function refusalBody(settings: Settings, error: BearerError, status: number): RefusalBody {
  if (status === 503) {
    // Whoever built a 503, its message may name internal hosts: the body never says why.
    return settings.exposeErrorDescription
      ? { error: 'temporarily_unavailable', error_description: UNAVAILABLE_DESCRIPTION }
      : { error: 'temporarily_unavailable' }
  }
  const code = isDpopProofError(error) ? error.dpopError : (error.error ?? 'unauthorized')
  return settings.exposeErrorDescription
    ? { error: code, error_description: error.message }
    : { error: code }
}
