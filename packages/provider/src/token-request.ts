import { invalidArgument } from '@bearerkit/core'
import { isCodeVerifier, sameSecret, verifyS256 } from './lib/pkce.js'
import { parseRequestedScopes } from './lib/scopes.js'
import { TokenError } from './oauth-errors.js'
import type {
  AuthorizationCode,
  OAuthAuthorizationServerProvider,
  OAuthClientInformation,
  OAuthToken,
  ProviderAccessToken,
  RefreshToken,
} from './protocol.js'

/** The RFC 7523 §2.1 grant type of SEP-990 identity assertions. */
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

/**
 * The parameters of a token request (RFC 6749 §4.1.3, §6; RFC 7523 §2.1; RFC 8707 §2), as
 * decoded from the `application/x-www-form-urlencoded` body. Each may be given once: a repeated
 * parameter is the caller's to refuse (RFC 6749 §3.2: `invalid_request`) before calling.
 */
export interface TokenRequest {
  grant_type?: string
  code?: string
  code_verifier?: string
  redirect_uri?: string
  refresh_token?: string
  scope?: string
  resource?: string
  assertion?: string
  [param: string]: string | undefined
}

/** Options of {@link handleTokenRequest} and {@link authenticateClient}. */
export interface TokenRequestOptions {
  /** Clock in milliseconds since the epoch, for code, token and secret expiry. Default `Date.now`. */
  now?: () => number
}

/** How a client authenticated at the token endpoint (RFC 7591 §2 `token_endpoint_auth_method`). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none'

/** The credentials a client presented (RFC 6749 §2.3.1), already taken out of the request. */
export interface ClientCredentials {
  clientId: string
  /** Absent for a public client (`token_endpoint_auth_method: 'none'`). */
  clientSecret?: string
  /**
   * How the request carried them: `client_secret_basic` (the Authorization header),
   * `client_secret_post` (the body), or `none` (only `client_id`). It must be the method the
   * client registered, so that a secret registered for one channel is not accepted on another.
   */
  method: ClientAuthMethod
}

const AUTH_METHODS: ReadonlySet<string> = new Set<ClientAuthMethod>([
  'client_secret_basic',
  'client_secret_post',
  'none',
])

// RFC 7591 §2: token_endpoint_auth_method defaults to client_secret_basic; a client stored without
// a method or a secret can only be public.
function registeredMethod(client: OAuthClientInformation): unknown {
  if (client.token_endpoint_auth_method !== undefined) return client.token_endpoint_auth_method
  const secret = client.client_secret
  return secret === undefined || secret === '' ? 'none' : 'client_secret_basic'
}

function checkNow(options: TokenRequestOptions): () => number {
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalidArgument(
      'options.now',
      'must be a function returning milliseconds since the epoch',
    )
  }
  return options.now ?? Date.now
}

/**
 * Client authentication at the token endpoint (RFC 6749 §2.3.1): finds the client with
 * `provider.getClient`, checks that the request used the client's registered
 * `token_endpoint_auth_method`, and checks its secret in constant time. Rejects with
 * `TokenError('invalid_client')` (status 401) for an unknown client, a method other than the
 * registered one, a missing or wrong secret, a secret past `client_secret_expires_at` (or a
 * stored expiry that is not an integer), or a secret sent by a public client.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1 RFC 6749 §2.3.1
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-3.2.1 RFC 7591 §3.2.1
 * @example
 * ```ts
 * const client = await authenticateClient(provider, {
 *   clientId,
 *   clientSecret,
 *   method: 'client_secret_basic', // it came in the Authorization header
 * })
 * ```
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) when `credentials.method` is not one of the three.
 */
export async function authenticateClient(
  provider: Pick<OAuthAuthorizationServerProvider, 'getClient'>,
  credentials: ClientCredentials,
  options: TokenRequestOptions = {},
): Promise<OAuthClientInformation> {
  const now = checkNow(options)
  const { clientId, clientSecret, method } = credentials
  if (!AUTH_METHODS.has(method)) {
    throw invalidArgument(
      'credentials.method',
      'must be client_secret_basic, client_secret_post or none: how the request authenticated',
    )
  }
  if (typeof clientId !== 'string' || clientId === '') {
    throw new TokenError('invalid_client', 'Client authentication failed')
  }
  const client = await provider.getClient(clientId)
  if (client === null || client.client_id !== clientId) {
    throw new TokenError('invalid_client', 'Client authentication failed')
  }
  if (registeredMethod(client) !== method) {
    throw new TokenError('invalid_client', 'Client authentication failed')
  }
  const stored = client.client_secret
  if (stored === undefined || stored === '') {
    // A public client has nothing to prove; one that sends a secret is confused or an impostor.
    // A record that names a secret method but holds no secret is broken: nothing is accepted.
    if (clientSecret !== undefined || method !== 'none') {
      throw new TokenError('invalid_client', 'Client authentication failed')
    }
    return client
  }
  if (typeof clientSecret !== 'string' || !sameSecret(clientSecret, stored)) {
    throw new TokenError('invalid_client', 'Client authentication failed')
  }
  const expiresAt = client.client_secret_expires_at
  // A stored expiry that is not an integer (a string, NaN) would never compare as passed: such a
  // secret counts as expired.
  if (
    expiresAt !== undefined &&
    expiresAt !== 0 &&
    (!Number.isSafeInteger(expiresAt) || expiresAt * 1000 <= now())
  ) {
    throw new TokenError('invalid_client', 'The client secret has expired')
  }
  return client
}

/**
 * The token endpoint (RFC 6749 §3.2) for an authenticated client: checks the request and calls
 * the provider, as the MCP SDKs' token handlers do. Grants:
 *
 * - `authorization_code` (RFC 6749 §4.1.3): `code` and `code_verifier` required; the code must
 *   exist, belong to this client and not be expired; `redirect_uri` must repeat the authorization
 *   request's when that one named it; the verifier must match the S256 challenge (RFC 7636 §4.6);
 *   a `resource` must be the one of the authorization request (RFC 8707 §2.2). Then
 *   `exchangeAuthorizationCode`.
 * - `refresh_token` (RFC 6749 §6): the token must exist, belong to this client and not be
 *   expired; requested scopes must be among the refresh token's; a `resource` must be the refresh
 *   token's. Then `exchangeRefreshToken`.
 * - `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523, SEP-990): `assertion` required, and
 *   the client must be confidential (hold a secret). Then `exchangeIdentityAssertion`, whose
 *   checks are the provider's.
 *
 * Every refusal is a `TokenError` with the RFC 6749 §5.2 code; client authentication
 * ({@link authenticateClient}) must have happened before. A grant type the client did not
 * register (`grant_types`) is `unauthorized_client`. Errors other than `TokenError` thrown by the
 * provider are passed on (the endpoint answers 500 for them).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2 RFC 6749 §5.2
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.6 RFC 7636 §4.6
 * @example
 * ```ts
 * const client = await authenticateClient(provider, credentials)
 * const body = await handleTokenRequest(provider, client, Object.fromEntries(form))
 * ```
 */
export async function handleTokenRequest<
  C extends AuthorizationCode,
  R extends RefreshToken,
  A extends ProviderAccessToken,
>(
  provider: OAuthAuthorizationServerProvider<C, R, A>,
  client: OAuthClientInformation,
  request: TokenRequest,
  options: TokenRequestOptions = {},
): Promise<OAuthToken> {
  const now = checkNow(options)
  const grantType = request.grant_type
  if (grantType === undefined || grantType === '') {
    throw new TokenError('invalid_request', 'grant_type is required')
  }
  if (
    grantType !== 'authorization_code' &&
    grantType !== 'refresh_token' &&
    grantType !== JWT_BEARER_GRANT_TYPE
  ) {
    throw new TokenError('unsupported_grant_type', 'The grant type is not supported')
  }
  // RFC 7591 §2 defaults grant_types to authorization_code; as the MCP SDKs do, a client that
  // registered none may also refresh the tokens it got that way.
  const allowed = client.grant_types ?? ['authorization_code', 'refresh_token']
  if (!allowed.includes(grantType)) {
    throw new TokenError('unauthorized_client', 'The client may not use this grant type')
  }
  const scopes = parseRequestedScopes(request.scope)
  if (scopes === null) throw new TokenError('invalid_scope', 'scope is malformed')
  switch (grantType) {
    case 'authorization_code':
      return authorizationCodeGrant(provider, client, request, now)
    case 'refresh_token':
      return refreshTokenGrant(provider, client, request, scopes, now)
    case JWT_BEARER_GRANT_TYPE:
      return identityAssertionGrant(provider, client, request, scopes)
  }
}

async function authorizationCodeGrant<C extends AuthorizationCode>(
  provider: OAuthAuthorizationServerProvider<C, RefreshToken, ProviderAccessToken>,
  client: OAuthClientInformation,
  request: TokenRequest,
  now: () => number,
): Promise<OAuthToken> {
  const { code, code_verifier: verifier, redirect_uri: redirectUri, resource } = request
  if (code === undefined || code === '') throw new TokenError('invalid_request', 'code is required')
  // OAuth 2.1 and MCP make PKCE mandatory: no verifier, no token.
  if (verifier === undefined) throw new TokenError('invalid_request', 'code_verifier is required')
  if (!isCodeVerifier(verifier)) {
    throw new TokenError('invalid_request', 'code_verifier is malformed')
  }
  const record = await provider.loadAuthorizationCode(client, code)
  // One answer for unknown, used, foreign and expired codes: the client learns nothing more.
  if (record === null || record.clientId !== client.client_id) {
    throw new TokenError('invalid_grant', 'The authorization code is invalid')
  }
  if (record.expiresAt * 1000 <= now()) {
    throw new TokenError('invalid_grant', 'The authorization code has expired')
  }
  // RFC 6749 §4.1.3: redirect_uri is REQUIRED if it was in the authorization request, and then
  // must be identical; when given anyway it must still match.
  if (
    (record.redirectUriProvidedExplicitly || redirectUri !== undefined) &&
    redirectUri !== record.redirectUri
  ) {
    throw new TokenError('invalid_grant', 'redirect_uri does not match the authorization request')
  }
  if (!verifyS256(verifier, record.codeChallenge)) {
    throw new TokenError('invalid_grant', 'The code_verifier does not match the code_challenge')
  }
  if (resource !== undefined && resource !== record.resource) {
    throw new TokenError('invalid_target', 'resource differs from the authorization request')
  }
  return provider.exchangeAuthorizationCode(client, record)
}

async function refreshTokenGrant<R extends RefreshToken>(
  provider: OAuthAuthorizationServerProvider<AuthorizationCode, R, ProviderAccessToken>,
  client: OAuthClientInformation,
  request: TokenRequest,
  scopes: string[] | undefined,
  now: () => number,
): Promise<OAuthToken> {
  const { refresh_token: token, resource } = request
  if (token === undefined || token === '') {
    throw new TokenError('invalid_request', 'refresh_token is required')
  }
  const record = await provider.loadRefreshToken(client, token)
  if (record === null || record.clientId !== client.client_id) {
    throw new TokenError('invalid_grant', 'The refresh token is invalid')
  }
  if (record.expiresAt !== undefined && record.expiresAt * 1000 <= now()) {
    throw new TokenError('invalid_grant', 'The refresh token has expired')
  }
  // RFC 6749 §6: the requested scope MUST NOT include any scope not originally granted.
  if (scopes !== undefined && !scopes.every((s) => record.scopes.includes(s))) {
    throw new TokenError('invalid_scope', 'scope exceeds the scope originally granted')
  }
  if (resource !== undefined && resource !== record.resource) {
    throw new TokenError('invalid_target', 'resource differs from the original grant')
  }
  return provider.exchangeRefreshToken(client, record, scopes ?? [])
}

async function identityAssertionGrant(
  provider: OAuthAuthorizationServerProvider<AuthorizationCode, RefreshToken, ProviderAccessToken>,
  client: OAuthClientInformation,
  request: TokenRequest,
  scopes: string[] | undefined,
): Promise<OAuthToken> {
  const { assertion, resource } = request
  if (assertion === undefined || assertion === '') {
    throw new TokenError('invalid_request', 'assertion is required')
  }
  // SEP-990: only confidential clients may present an ID-JAG.
  if (client.client_secret === undefined || client.client_secret === '') {
    throw new TokenError('unauthorized_client', 'The client must be confidential for this grant')
  }
  return provider.exchangeIdentityAssertion(client, {
    assertion,
    ...(scopes === undefined ? {} : { scopes }),
    ...(resource === undefined ? {} : { resource }),
  })
}
