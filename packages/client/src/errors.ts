/**
 * The one error class of @bearerkit/client. Callers (the `bearerkit check` CLI first among them)
 * branch on its stable `code`, never on the message or on `instanceof`: two copies of the package
 * in one process must still understand each other's errors.
 */

/** Every code an {@link OAuthClientError} carries. */
export type OAuthClientErrorCode =
  /** The request did not finish within its deadline. */
  | 'ERR_REQUEST_TIMEOUT'
  /** The request failed on the network (refused, reset, DNS). */
  | 'ERR_REQUEST_FAILED'
  /** The server answered with a redirect; redirects are never followed. */
  | 'ERR_REDIRECT_REFUSED'
  /** The response body exceeded the size limit. */
  | 'ERR_RESPONSE_TOO_LARGE'
  /** An HTTP status the step does not accept (and no OAuth error JSON came with it). */
  | 'ERR_UNEXPECTED_STATUS'
  /** The response is not JSON, not an object, or a field has the wrong type. */
  | 'ERR_INVALID_RESPONSE'
  /** An authorization server answered with OAuth error JSON; `oauthError` holds it intact. */
  | 'ERR_OAUTH_ERROR_RESPONSE'
  /** No protected resource metadata could be found (and the legacy fallback is off). */
  | 'ERR_RESOURCE_METADATA_NOT_FOUND'
  /** The protected resource metadata names another resource (RFC 9728 §3.3). */
  | 'ERR_RESOURCE_MISMATCH'
  /** The protected resource metadata lists no authorization server. */
  | 'ERR_NO_AUTHORIZATION_SERVER'
  /** No authorization server metadata at any of the well-known locations. */
  | 'ERR_AS_METADATA_NOT_FOUND'
  /** The metadata's `issuer` differs from the issuer asked for (RFC 8414 §3.3). */
  | 'ERR_ISSUER_MISMATCH'
  /** The authorization server lacks something the step needs (an endpoint, PKCE S256). */
  | 'ERR_UNSUPPORTED_BY_SERVER'
  /** No way to obtain a client: nothing pre-registered, no usable metadata document, no DCR. */
  | 'ERR_CLIENT_REQUIRED'
  /** The server registered the client for `private_key_jwt` and no key was given to sign with. */
  | 'ERR_CLIENT_KEY_REQUIRED'
  /** The authorization response's `state` is not the one sent; the code is discarded. */
  | 'ERR_STATE_MISMATCH'
  /** RFC 9207: `iss` is missing although the server advertises it; the code is discarded. */
  | 'ERR_ISS_MISSING'
  /** RFC 9207: `iss` is not the recorded issuer; the code is discarded. */
  | 'ERR_ISS_MISMATCH'
  /** The authorization response carries an OAuth error (`access_denied` ...). */
  | 'ERR_AUTHORIZATION_ERROR'
  /** The authorization response carries neither a code nor an error. */
  | 'ERR_CODE_MISSING'
  /** The server kept asking for more after the bounded number of step-up attempts. */
  | 'ERR_STEP_UP_EXHAUSTED'
  /** An extension point (host callback, assertion source) failed or answered the wrong type. */
  | 'ERR_CALLBACK_FAILED'
  /** A host callback called its session for a token that can only exist once it has answered. */
  | 'ERR_REENTRANT_CALL'

/** The OAuth error JSON of an authorization server (RFC 6749 §5.2, RFC 7591 §3.2.2), intact. */
export interface OAuthErrorBody {
  error: string
  error_description?: string
  error_uri?: string
  [field: string]: unknown
}

/** Options of {@link OAuthClientError}. */
export interface OAuthClientErrorOptions {
  cause?: unknown
  /** The HTTP status of the answer the error is about. */
  status?: number
  /** The URL of the request the error is about (never carries a token). */
  url?: string
  /** The authorization server's error JSON, for `ERR_OAUTH_ERROR_RESPONSE` and `ERR_AUTHORIZATION_ERROR`. */
  oauthError?: OAuthErrorBody
  /** Seconds after which a retry is sensible (`Retry-After` of a 429 or 503). */
  retryAfter?: number
}

/**
 * An error of a client step, with a stable `code`. Messages never contain a token, a secret or an
 * authorization code.
 *
 * @example
 * ```ts
 * try {
 *   await discoverAuthorizationServer('https://as.example.com')
 * } catch (error) {
 *   if (isOAuthClientError(error) && error.code === 'ERR_ISSUER_MISMATCH') ...
 * }
 * ```
 */
export class OAuthClientError extends Error {
  readonly code: OAuthClientErrorCode
  readonly status: number | undefined
  readonly url: string | undefined
  /** The server's OAuth error JSON, passed on intact. */
  readonly oauthError: OAuthErrorBody | undefined
  /** Shortcuts into {@link oauthError}. */
  readonly error: string | undefined
  readonly errorDescription: string | undefined
  readonly errorUri: string | undefined
  readonly retryAfter: number | undefined

  constructor(code: OAuthClientErrorCode, message: string, options: OAuthClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'OAuthClientError'
    this.code = code
    this.status = options.status
    this.url = options.url
    this.oauthError = options.oauthError
    this.error = options.oauthError?.error
    this.errorDescription =
      typeof options.oauthError?.error_description === 'string'
        ? options.oauthError.error_description
        : undefined
    this.errorUri =
      typeof options.oauthError?.error_uri === 'string' ? options.oauthError.error_uri : undefined
    this.retryAfter = options.retryAfter
  }
}

/** True when `value` is an {@link OAuthClientError}, judged by shape so it works across copies. */
export function isOAuthClientError(value: unknown): value is OAuthClientError {
  return (
    value instanceof Error &&
    value.name === 'OAuthClientError' &&
    typeof (value as { code?: unknown }).code === 'string' &&
    (value as unknown as { code: string }).code.startsWith('ERR_')
  )
}
