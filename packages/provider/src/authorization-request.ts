import {
  invalidArgument,
  readFunction,
  readOptionalString,
  readOptionsObject,
  rejectUnknownOptions,
} from '@bearerkit/core'
import { isS256Challenge } from './lib/pkce.js'
import { matchRedirectUri } from './lib/redirect-uris.js'
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

/** Options of {@link handleAuthorizationRequest}. */
export interface AuthorizationRequestOptions {
  /**
   * This authorization server's issuer identifier. When given, every authorization response
   * (success and error) carries it as `iss` (RFC 9207 §2), so that a client talking to several
   * servers can detect a mix-up attack; publish `authorization_response_iss_parameter_supported:
   * true` in the server's metadata then.
   */
  issuer?: string
  /**
   * Whether the client's redirect URIs are trusted enough to send an error there before the user
   * has authenticated. Must answer exactly `true` (synchronously) to redirect; any other answer,
   * or a throw, renders the error here. Default: no client is trusted, because a dynamically
   * registered client chose its redirect URIs itself (RFC 9700 §4.11.2). Answer `true` for clients
   * the operator registered.
   */
  trustRedirectUris?: (client: OAuthClientInformation) => boolean
}

interface ResolvedRequestOptions {
  readonly issuer: string | undefined
  readonly trustRedirectUris: (client: OAuthClientInformation) => boolean
}

const OPTION_NAMES = ['issuer', 'trustRedirectUris']
const TRUST_NOBODY = (): boolean => false

function resolveRequestOptions(options: unknown): ResolvedRequestOptions {
  const input = readOptionsObject('options', options)
  rejectUnknownOptions('options', input, OPTION_NAMES)
  return Object.freeze({
    issuer: readOptionalString('options.issuer', input.issuer),
    trustRedirectUris:
      readFunction<ResolvedRequestOptions['trustRedirectUris']>(
        'options.trustRedirectUris',
        input.trustRedirectUris,
      ) ?? TRUST_NOBODY,
  })
}

/**
 * The authorization endpoint (RFC 6749 §4.1.1) in front of a provider's `authorize`. Resolves to
 * the URL to send the user agent to (status 302):
 *
 * - the provider's answer when the request is valid (with `iss` added when `options.issuer` is
 *   given and the answer goes back to the client's redirect URI without one);
 * - for a client whose redirect URIs are trusted (`options.trustRedirectUris`), the client's
 *   redirect URI with `error`, `state` and `iss` when the request is invalid (RFC 6749
 *   §4.1.2.1): `unsupported_response_type` (not `code`), `invalid_request` (no PKCE, or a method
 *   other than `S256`, or a malformed challenge), `invalid_scope` (malformed, or outside the
 *   client's registered `scope`), `invalid_target` (a `resource` that is not an absolute URI
 *   without a fragment, RFC 8707 §2), or any `AuthorizeError` the provider raised.
 *
 * Rejects with an `AuthorizeError` that the caller renders HERE, as an error page (400), never
 * as a redirect:
 *
 * - when the client is unknown or the redirect URI is missing, unregistered or ambiguous
 *   (RFC 6749 §4.1.2.1 forbids redirecting then);
 * - for every error above when the client's redirect URIs are not trusted (the default). An
 *   attacker can register `https://evil.example/phish` by dynamic registration and send victims
 *   a link to this endpoint with `response_type=bogus`: redirecting would make this server an
 *   open redirector before anyone authenticated (RFC 9700 §4.11.2). A provider that has
 *   authenticated the user and wants the client to learn of a refusal returns the error redirect
 *   from `authorize` itself.
 *
 * Other errors from the provider are passed on.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1 RFC 6749 §4.1.2.1
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.11.2 RFC 9700 §4.11.2 (open redirection)
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2 RFC 9207 §2 (iss in the response)
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3 RFC 7636 §4.3
 * @example
 * ```ts
 * try {
 *   const location = await handleAuthorizationRequest(provider, Object.fromEntries(url.searchParams), {
 *     issuer: 'https://auth.example.com',
 *     trustRedirectUris: (client) => preRegistered.has(client.client_id),
 *   })
 *   reply.redirect(location)
 * } catch (error) {
 *   if (!isAuthorizeError(error)) throw error
 *   reply.code(400).type('text/html').send(errorPage(error.error)) // rendered here, no redirect
 * }
 * ```
 */
export async function handleAuthorizationRequest(
  provider: Pick<OAuthAuthorizationServerProvider, 'getClient' | 'authorize'>,
  request: AuthorizationRequest,
  options?: AuthorizationRequestOptions,
): Promise<string> {
  const settings = resolveRequestOptions(options)
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
  const { issuer } = settings
  const fail = (error: AuthorizeErrorCode, description: string | undefined): string => {
    if (!isTrusted(settings, client)) throw new AuthorizeError(error, description)
    return constructRedirectUri(redirectUri, {
      error,
      error_description: description,
      state,
      iss: issuer,
    })
  }

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
  let location: string
  try {
    location = await provider.authorize(client, params)
  } catch (error) {
    if (!isAuthorizeError(error)) throw error
    return fail(error.error, error.errorDescription)
  }
  return issuer === undefined ? location : withIssuer(location, redirectUri, issuer)
}

// A trust decision that throws or answers anything but `true` keeps the error here: the safe
// side of RFC 9700 §4.11.2.
function isTrusted(settings: ResolvedRequestOptions, client: OAuthClientInformation): boolean {
  try {
    return settings.trustRedirectUris(structuredClone(client)) === true
  } catch {
    return false
  }
}

// RFC 9207 §2: the authorization response carries iss. A provider's answer that goes back to the
// client (its redirect URI with code or error) and lacks it gets it here; an answer pointing
// elsewhere (a login or consent page) is left alone.
function withIssuer(location: string, redirectUri: string, issuer: string): string {
  let url: URL
  try {
    url = new URL(location)
  } catch {
    return location
  }
  const base = new URL(redirectUri)
  const backToClient =
    url.origin === base.origin &&
    url.pathname === base.pathname &&
    (url.searchParams.has('code') || url.searchParams.has('error'))
  if (!backToClient || url.searchParams.has('iss')) return location
  url.searchParams.append('iss', issuer)
  return url.href
}

// RFC 6749 §3.1.2.3: with several registered redirect URIs the request must name one, compared
// as a whole string (no prefix or pattern matching; any port on a loopback IP, RFC 8252 §7.3).
function resolveRedirectUri(client: OAuthClientInformation, given: string | undefined): string {
  const registered = Array.isArray(client.redirect_uris) ? client.redirect_uris : []
  if (given !== undefined) {
    const match = matchRedirectUri(registered, given)
    if (match === undefined) {
      throw new AuthorizeError('invalid_request', 'redirect_uri is not registered for the client')
    }
    return match
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
