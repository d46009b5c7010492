/**
 * Errors a provider raises at the authorization server's endpoints. Each carries the RFC `error`
 * code that goes on the wire, an optional `errorDescription`, and a stable `code` callers branch
 * on (never `instanceof`: two copies of this package must understand each other).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1 RFC 6749 §4.1.2.1 (authorization errors)
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2 RFC 6749 §5.2 (token endpoint errors)
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2 RFC 7591 §3.2.2 (registration errors)
 */

import { invalidArgument } from '@bearerkit/core'

/**
 * Token endpoint error codes: RFC 6749 §5.2, plus `invalid_target` from RFC 8707 §2 for an unknown
 * or refused `resource`.
 */
export type TokenErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'

/**
 * Authorization endpoint error codes: RFC 6749 §4.1.2.1, plus `invalid_target` from RFC 8707 §2.
 */
export type AuthorizeErrorCode =
  | 'invalid_request'
  | 'unauthorized_client'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'invalid_target'

/** Dynamic client registration error codes: RFC 7591 §3.2.2. */
export type RegistrationErrorCode =
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'invalid_software_statement'
  | 'unapproved_software_statement'

const TOKEN_CODES: ReadonlySet<string> = new Set<TokenErrorCode>([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
])

const AUTHORIZE_CODES: ReadonlySet<string> = new Set<AuthorizeErrorCode>([
  'invalid_request',
  'unauthorized_client',
  'access_denied',
  'unsupported_response_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
  'invalid_target',
])

const REGISTRATION_CODES: ReadonlySet<string> = new Set<RegistrationErrorCode>([
  'invalid_redirect_uri',
  'invalid_client_metadata',
  'invalid_software_statement',
  'unapproved_software_statement',
])

/** The JSON body of an OAuth error response (RFC 6749 §5.2, RFC 7591 §3.2.2). */
export interface OAuthErrorResponse {
  error: string
  error_description?: string
}

// RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E. Other characters are
// replaced, so that a description can never break the JSON consumer's or a redirect's expectations.
function cleanDescription(description: string | undefined): string | undefined {
  if (description === undefined) return undefined
  return description.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '?')
}

/**
 * Base class of {@link TokenError}, {@link AuthorizeError} and {@link RegistrationError}: the RFC
 * `error`, the `errorDescription`, a stable `code`, and the JSON body from `toResponse()`.
 *
 * @example
 * ```ts
 * if (error instanceof OAuthEndpointError) reply.code(400).send(error.toResponse())
 * ```
 */
export abstract class OAuthEndpointError<E extends string = string> extends Error {
  /** Stable code of the class (`ERR_OAUTH_TOKEN` ...). */
  abstract readonly code: string
  /** The RFC error code sent as `error`. */
  readonly error: E
  /** Human-readable text sent as `error_description` (restricted to the RFC 6749 charset). */
  readonly errorDescription: string | undefined

  protected constructor(
    allowed: ReadonlySet<string>,
    what: string,
    error: E,
    errorDescription?: string,
    options?: { cause?: unknown },
  ) {
    if (!allowed.has(error)) {
      throw invalidArgument('error', `is not a ${what} error code (got ${JSON.stringify(error)})`)
    }
    const description = cleanDescription(errorDescription)
    super(
      description === undefined ? error : `${error}: ${description}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
    this.name = new.target.name
    this.error = error
    this.errorDescription = description
  }

  /** The JSON error body, ready to send. */
  toResponse(): OAuthErrorResponse {
    return {
      error: this.error,
      ...(this.errorDescription === undefined ? {} : { error_description: this.errorDescription }),
    }
  }
}

/**
 * A token endpoint error (RFC 6749 §5.2): raised by `exchangeAuthorizationCode`,
 * `exchangeRefreshToken`, `exchangeIdentityAssertion` and the token request checks.
 *
 * `statusCode` is 401 for `invalid_client` (RFC 6749 §5.2 lets the server answer 401, and requires
 * it with a `WWW-Authenticate` challenge when the client authenticated with the Authorization
 * header) and 400 for every other code.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2 RFC 6749 §5.2
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2 RFC 8707 §2 (invalid_target)
 * @example
 * ```ts
 * throw new TokenError('invalid_grant', 'The authorization code has expired')
 * ```
 */
export class TokenError extends OAuthEndpointError<TokenErrorCode> {
  static readonly code = 'ERR_OAUTH_TOKEN'
  readonly code = TokenError.code
  /** HTTP status of the token endpoint response. */
  readonly statusCode: 400 | 401

  constructor(error: TokenErrorCode, errorDescription?: string, options?: { cause?: unknown }) {
    super(TOKEN_CODES, 'token endpoint', error, errorDescription, options)
    this.statusCode = error === 'invalid_client' ? 401 : 400
  }
}

/**
 * An authorization endpoint error (RFC 6749 §4.1.2.1), raised by `authorize`. Once the client and
 * its redirect URI are known to be valid, the error is sent back to the client as query
 * parameters on its redirect URI (`error`, `error_description`, `state`), never shown to the
 * user agent as an HTTP error.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1 RFC 6749 §4.1.2.1
 * @example
 * ```ts
 * throw new AuthorizeError('access_denied', 'The user declined')
 * ```
 */
export class AuthorizeError extends OAuthEndpointError<AuthorizeErrorCode> {
  static readonly code = 'ERR_OAUTH_AUTHORIZE'
  readonly code = AuthorizeError.code

  constructor(error: AuthorizeErrorCode, errorDescription?: string, options?: { cause?: unknown }) {
    super(AUTHORIZE_CODES, 'authorization endpoint', error, errorDescription, options)
  }
}

/**
 * A dynamic client registration error (RFC 7591 §3.2.2), raised by `registerClient`. Sent with
 * status 400.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2 RFC 7591 §3.2.2
 * @example
 * ```ts
 * throw new RegistrationError('invalid_redirect_uri', 'redirect_uris must use https')
 * ```
 */
export class RegistrationError extends OAuthEndpointError<RegistrationErrorCode> {
  static readonly code = 'ERR_OAUTH_REGISTRATION'
  readonly code = RegistrationError.code
  /** HTTP status of the registration endpoint response (RFC 7591 §3.2.2). */
  readonly statusCode = 400 as const

  constructor(
    error: RegistrationErrorCode,
    errorDescription?: string,
    options?: { cause?: unknown },
  ) {
    super(REGISTRATION_CODES, 'client registration', error, errorDescription, options)
  }
}

/**
 * True when `value` is a {@link TokenError} (judged by its code, across package copies).
 *
 * @example
 * ```ts
 * if (isTokenError(error)) reply.code(error.statusCode).send(error.toResponse())
 * ```
 */
export function isTokenError(value: unknown): value is TokenError {
  return value instanceof Error && (value as { code?: unknown }).code === TokenError.code
}

/**
 * True when `value` is an {@link AuthorizeError} (judged by its code, across package copies).
 *
 * @example
 * ```ts
 * if (isAuthorizeError(error)) reply.code(400).send(error.toResponse())
 * ```
 */
export function isAuthorizeError(value: unknown): value is AuthorizeError {
  return value instanceof Error && (value as { code?: unknown }).code === AuthorizeError.code
}

/**
 * True when `value` is a {@link RegistrationError} (judged by its code, across package copies).
 *
 * @example
 * ```ts
 * if (isRegistrationError(error)) reply.code(400).send(error.toResponse())
 * ```
 */
export function isRegistrationError(value: unknown): value is RegistrationError {
  return value instanceof Error && (value as { code?: unknown }).code === RegistrationError.code
}
