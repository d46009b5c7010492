/**
 * Error classes with stable codes. Callers branch on `code`, never on `instanceof`: two copies of
 * this package in one process must still understand each other's errors.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 RFC 6750 §3.1 (error codes)
 */

/** The RFC 6750 §3.1 error codes a resource server answers with. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope'

/** Options shared by every {@link BearerError}. */
export interface BearerErrorOptions {
  /** The lower-level error that caused this one. */
  cause?: unknown
  /** Extra response headers (for example `Retry-After`). */
  headers?: Record<string, string>
}

/**
 * Base class of every error bearerkit raises about a request or a verifier. Carries a stable
 * `code` (`ERR_...`), the RFC 6750 `error` (absent when the failure is not the client's, as for
 * 503), the HTTP `statusCode` and optional response `headers`.
 */
export class BearerError extends Error {
  readonly code: string
  readonly error: BearerErrorCode | undefined
  readonly statusCode: number
  readonly headers: Readonly<Record<string, string>> | undefined

  constructor(
    code: string,
    error: BearerErrorCode | undefined,
    statusCode: number,
    message: string,
    options: BearerErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.error = error
    this.statusCode = statusCode
    this.headers = options.headers
  }
}

/**
 * 401 without an RFC 6750 error code: the request carries no credentials at all. RFC 6750 §3.1
 * says the challenge then SHOULD NOT include an error code, so `error` is `undefined`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 RFC 6750 §3.1
 * @example
 * ```ts
 * if (token === null) throw new MissingTokenError()
 * ```
 */
export class MissingTokenError extends BearerError {
  static readonly code = 'ERR_MISSING_TOKEN'
  constructor(message = 'Authentication is required', options?: BearerErrorOptions) {
    super(MissingTokenError.code, undefined, 401, message, options)
  }
}

/**
 * 400 `invalid_request`: the request is malformed (a broken `Authorization` header, a token sent
 * in more than one place).
 */
export class InvalidRequestError extends BearerError {
  static readonly code = 'ERR_INVALID_REQUEST'
  constructor(message = 'The request is malformed', options?: BearerErrorOptions) {
    super(InvalidRequestError.code, 'invalid_request', 400, message, options)
  }
}

/**
 * 401 `invalid_token`: the token is expired, revoked, malformed or not meant for this resource.
 *
 * It carries no upstream HTTP status: a refusal is the verifier's verdict on the token, and an
 * upstream that answers with an unexpected status is an outage, reported as
 * {@link VerifierUnavailableError} (503) with its `upstreamStatus`.
 */
export class InvalidTokenError extends BearerError {
  static readonly code = 'ERR_INVALID_TOKEN'
  /** Stable reason code (a `RefusalCode`), when known. */
  readonly reason: string | undefined
  constructor(
    message = 'The access token is invalid',
    options?: BearerErrorOptions & { reason?: string },
  ) {
    super(InvalidTokenError.code, 'invalid_token', 401, message, options)
    this.reason = options?.reason
  }
}

/** 403 `insufficient_scope`: the token is valid but lacks scopes; `scopes` are all those needed. */
export class InsufficientScopeError extends BearerError {
  static readonly code = 'ERR_INSUFFICIENT_SCOPE'
  /** Every scope the request needs (not only the missing ones), so a client can step up at once. */
  readonly scopes: readonly string[]
  constructor(
    scopes: readonly string[],
    message = 'The access token lacks a required scope',
    options?: BearerErrorOptions,
  ) {
    super(InsufficientScopeError.code, 'insufficient_scope', 403, message, options)
    this.scopes = [...scopes]
  }
}

/** Options of {@link VerifierUnavailableError}. */
export interface VerifierUnavailableErrorOptions extends BearerErrorOptions {
  /** Seconds after which a retry is sensible; sent as `Retry-After`. */
  retryAfter?: number
  /**
   * Stable reason: `timeout`, `network`, `redirect`, `status`, `content_type`, `invalid_json`,
   * `too_large`, `invalid_response`, `issuer_mismatch`, `no_key`, `provider_error` ...
   */
  reason?: string
  /** For reason `status`: the HTTP status the upstream answered with. */
  upstreamStatus?: number
}

/**
 * 503: validity could not be decided now (JWKS or introspection endpoint down, slow, or answering
 * garbage). Never a reason to accept, never a reason to answer 401.
 */
export class VerifierUnavailableError extends BearerError {
  static readonly code = 'ERR_VERIFIER_UNAVAILABLE'
  /** Seconds after which a retry is sensible. */
  readonly retryAfter: number | undefined
  /** Stable reason code, when known (see {@link VerifierUnavailableErrorOptions.reason}). */
  readonly reason: string | undefined
  /** The upstream's HTTP status, when the failure was an unexpected status. */
  readonly upstreamStatus: number | undefined
  constructor(
    message = 'The token verifier is unavailable',
    options: VerifierUnavailableErrorOptions = {},
  ) {
    const retryAfter =
      options.retryAfter === undefined ? undefined : Math.max(0, Math.ceil(options.retryAfter))
    super(VerifierUnavailableError.code, undefined, 503, message, {
      cause: options.cause,
      headers: {
        ...options.headers,
        ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
      },
    })
    this.retryAfter = retryAfter
    this.reason = options.reason
    this.upstreamStatus = options.upstreamStatus
  }
}

/** True for any bearerkit error, judged by shape so it works across package copies. */
const BEARER_CODES: ReadonlySet<unknown> = new Set([
  'ERR_MISSING_TOKEN',
  'ERR_INVALID_REQUEST',
  'ERR_INVALID_TOKEN',
  'ERR_INSUFFICIENT_SCOPE',
  'ERR_VERIFIER_UNAVAILABLE',
])

/** True for any bearerkit error, judged by its code so it works across package copies. */
export function isBearerError(value: unknown): value is BearerError {
  return (
    value instanceof Error &&
    BEARER_CODES.has((value as Error & { code?: unknown }).code) &&
    typeof (value as Error & { statusCode?: unknown }).statusCode === 'number'
  )
}

/** True when `value` is a {@link VerifierUnavailableError} (by code). */
export function isVerifierUnavailable(value: unknown): value is VerifierUnavailableError {
  return (
    value instanceof Error && (value as { code?: unknown }).code === VerifierUnavailableError.code
  )
}

/** A configuration mistake: a `TypeError` with code `ERR_INVALID_ARG_VALUE` naming the option. */
export interface InvalidArgumentError extends TypeError {
  readonly code: 'ERR_INVALID_ARG_VALUE'
}

/**
 * Builds the `TypeError` thrown for a configuration mistake. The message starts with the option's
 * name so the mistake can be found without a stack trace.
 *
 * @example
 * ```ts
 * throw invalidArgument('options.audience', 'must be a non-empty string, an array of them, or null')
 * ```
 */
export function invalidArgument(option: string, problem: string): InvalidArgumentError {
  const error = new TypeError(`${option} ${problem}`) as TypeError & { code: string }
  error.code = 'ERR_INVALID_ARG_VALUE'
  return error as InvalidArgumentError
}
