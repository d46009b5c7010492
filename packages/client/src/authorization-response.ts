import { OAuthClientError } from './errors.js'
import type { PendingAuthorization } from './authorization-request.js'

const SINGLE = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri']

/**
 * Checks an authorization response (the redirect back to `redirectUri`) against the request it
 * answers, and returns the code. The order is fixed, and every failure discards the code:
 *
 * 1. the callback is for this request's `redirectUri` (origin and path), and no parameter repeats;
 * 2. RFC 9207 §2.4: `iss`, when present, equals the recorded issuer exactly (string comparison);
 *    when absent, that is an error if the server advertised
 *    `authorization_response_iss_parameter_supported`. This comes before reading `error`, as the
 *    RFC says, because a mix-up attacker can forge errors too;
 * 3. `state` equals the one sent;
 * 4. an `error` is `ERR_AUTHORIZATION_ERROR` carrying `error`, `error_description`, `error_uri`;
 * 5. otherwise a non-empty `code` is required.
 *
 * @param response The callback URL, or its query parameters.
 * @throws {@link OAuthClientError} `ERR_ISS_MISMATCH`, `ERR_ISS_MISSING`, `ERR_STATE_MISMATCH`,
 *   `ERR_AUTHORIZATION_ERROR`, `ERR_CODE_MISSING`, `ERR_INVALID_RESPONSE`.
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4 RFC 9207 §2.4
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2 RFC 6749 §4.1.2
 * @example
 * ```ts
 * const code = readAuthorizationResponse(pending, new URL(request.url, 'http://127.0.0.1:8976'))
 * ```
 */
export function readAuthorizationResponse(
  pending: PendingAuthorization,
  response: URL | URLSearchParams | string,
): string {
  let params: URLSearchParams
  if (response instanceof URLSearchParams) {
    params = response
  } else {
    // No cause: Node's invalid-URL TypeError carries the input, and a callback holds the code
    // and state; loggers print causes.
    if (!(response instanceof URL) && !URL.canParse(response)) {
      throw new OAuthClientError(
        'ERR_INVALID_RESPONSE',
        'The authorization response is not a URL (give the absolute callback URL)',
      )
    }
    const url = new URL(response)
    const expected = new URL(pending.redirectUri)
    if (url.origin !== expected.origin || url.pathname !== expected.pathname) {
      throw new OAuthClientError(
        'ERR_INVALID_RESPONSE',
        'The authorization response does not come back to the redirect URI of the request',
      )
    }
    params = url.searchParams
  }
  for (const name of SINGLE) {
    if (params.getAll(name).length > 1) {
      throw new OAuthClientError(
        'ERR_INVALID_RESPONSE',
        `The authorization response repeats ${name}`,
      )
    }
  }
  const iss = params.get('iss')
  if (iss !== null && iss !== pending.issuer) {
    throw new OAuthClientError(
      'ERR_ISS_MISMATCH',
      'The authorization response comes from another issuer than the one the request was sent to (RFC 9207)',
    )
  }
  if (iss === null && pending.issRequired) {
    throw new OAuthClientError(
      'ERR_ISS_MISSING',
      'The authorization response lacks iss although the server advertises it (RFC 9207)',
    )
  }
  if (params.get('state') !== pending.state) {
    throw new OAuthClientError(
      'ERR_STATE_MISMATCH',
      'The authorization response state does not match the request',
    )
  }
  const error = params.get('error')
  if (error !== null) {
    const description = params.get('error_description')
    const uri = params.get('error_uri')
    throw new OAuthClientError(
      'ERR_AUTHORIZATION_ERROR',
      'The authorization server refused the authorization request',
      {
        oauthError: {
          error,
          ...(description === null ? {} : { error_description: description }),
          ...(uri === null ? {} : { error_uri: uri }),
        },
      },
    )
  }
  const code = params.get('code')
  if (code === null || code === '') {
    throw new OAuthClientError('ERR_CODE_MISSING', 'The authorization response carries no code')
  }
  return code
}
