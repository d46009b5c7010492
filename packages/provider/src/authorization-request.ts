import { invalidArgument } from '@bearerkit/core'
import { isS256Challenge } from './lib/pkce.js'
import { parseRequestedScopes } from './lib/scopes.js'
import { AuthorizeError, isAuthorizeError, type AuthorizeErrorCode } from './oauth-errors.js'
import type {
  AuthorizationParams,
  OAuthAuthorizationServerProvider,
  OAuthClientInformation,
} from './protocol.js'
import { constructRedirectUri } from './redirect-uri.js'

/** The query parameters of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707). */
export interface AuthorizationRequest {
  response_type?: string
  client_id?: string
  redirect_uri?: string
  scope?: string
  state?: string
  code_challenge?: string
  code_challenge_method?: string
  resource?: string
  [param: string]: string | undefined
}

/**
 * The authorization endpoint (RFC 6749 §4.1.1) in front of a provider's `authorize`. Resolves to
 * the URL to send the user agent to (status 302):
 *
 * - the provider's answer when the request is valid;
 * - the client's redirect URI with `error` (and `state`) when the request is invalid but the
 *   client and its redirect URI are known to be genuine (RFC 6749 §4.1.2.1):
 *   `unsupported_response_type` (not `code`), `invalid_request` (no PKCE, or a method other than
 *   `S256`, or a malformed challenge), `invalid_scope` (malformed, or outside the client's
 *   registered `scope`), `invalid_target` (a `resource` that is not an absolute URI without a
 *   fragment, RFC 8707 §2), or any `AuthorizeError` the provider raised.
 *
 * Rejects with `AuthorizeError('invalid_request')` when the client is unknown or the redirect URI
 * is missing, unregistered or ambiguous: RFC 6749 §4.1.2.1 forbids redirecting then, so show the
 * user an error page (400) instead. Other errors from the provider are passed on.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1 RFC 6749 §4.1.2.1
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3 RFC 7636 §4.3
 * @example
 * ```ts
 * const location = await handleAuthorizationRequest(provider, Object.fromEntries(url.searchParams))
 * reply.redirect(location)
 * ```
 */
export async function handleAuthorizationRequest(
  provider: Pick<OAuthAuthorizationServerProvider, 'getClient' | 'authorize'>,
  request: AuthorizationRequest,
): Promise<string> {
  if (typeof request !== 'object' || request === null) {
    throw invalidArgument('request', 'must be an object of query parameters')
  }
  const clientId = request.client_id
  if (clientId === undefined || clientId === '') {
    throw new AuthorizeError('invalid_request', 'client_id is required')
  }
  const client = await provider.getClient(clientId)
  if (client === null || client.client_id !== clientId) {
    throw new AuthorizeError('invalid_request', 'The client is not registered')
  }
  const redirectUri = resolveRedirectUri(client, request.redirect_uri)
  const state = request.state
  const fail = (error: AuthorizeErrorCode, description: string | undefined): string =>
    constructRedirectUri(redirectUri, { error, error_description: description, state })

  if (request.response_type !== 'code') {
    return fail('unsupported_response_type', 'response_type must be code')
  }
  // OAuth 2.1 and MCP require PKCE; only S256 is accepted (RFC 7636 §4.2 `plain` protects
  // nothing once the request can be read).
  if (request.code_challenge === undefined) {
    return fail('invalid_request', 'code_challenge is required')
  }
  if (request.code_challenge_method !== 'S256') {
    return fail('invalid_request', 'code_challenge_method must be S256')
  }
  if (!isS256Challenge(request.code_challenge)) {
    return fail('invalid_request', 'code_challenge is malformed')
  }
  const scopes = parseRequestedScopes(request.scope)
  if (scopes === null) return fail('invalid_scope', 'scope is malformed')
  if (scopes !== undefined && client.scope !== undefined) {
    const registered = client.scope.split(' ')
    if (!scopes.every((s) => registered.includes(s))) {
      return fail('invalid_scope', 'scope exceeds what the client registered')
    }
  }
  const resource = request.resource
  if (resource !== undefined && !isResourceIndicator(resource)) {
    return fail('invalid_target', 'resource must be an absolute URI without a fragment')
  }
  const params: AuthorizationParams = {
    codeChallenge: request.code_challenge,
    redirectUri,
    redirectUriProvidedExplicitly: request.redirect_uri !== undefined,
    ...(state === undefined ? {} : { state }),
    ...(scopes === undefined ? {} : { scopes }),
    ...(resource === undefined ? {} : { resource }),
  }
  try {
    return await provider.authorize(client, params)
  } catch (error) {
    if (!isAuthorizeError(error)) throw error
    return fail(error.error, error.errorDescription)
  }
}

// RFC 6749 §3.1.2.3: with several registered redirect URIs the request must name one, compared
// as a whole string (no prefix or pattern matching).
function resolveRedirectUri(client: OAuthClientInformation, given: string | undefined): string {
  const registered = Array.isArray(client.redirect_uris) ? client.redirect_uris : []
  if (given !== undefined) {
    if (!registered.includes(given)) {
      throw new AuthorizeError('invalid_request', 'redirect_uri is not registered for the client')
    }
    return given
  }
  const only = registered.length === 1 ? registered[0] : undefined
  if (only === undefined) {
    throw new AuthorizeError('invalid_request', 'redirect_uri is required')
  }
  return only
}

// RFC 8707 §2: an absolute URI (RFC 3986 §4.3), which MUST NOT include a fragment.
function isResourceIndicator(value: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value) || value.includes('#')) return false
  try {
    new URL(value)
    return true
  } catch {
    return false
  }
}
