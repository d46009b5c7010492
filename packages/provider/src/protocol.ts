/**
 * The authorization-server provider protocol: the storage and policy operations an OAuth
 * authorization server for an MCP server needs, with the same operations and meaning as the MCP
 * Python SDK's `OAuthAuthorizationServerProvider`. The HTTP endpoints (or `handleTokenRequest` and
 * `authenticateClient` from this package) do the generic checks (client authentication, PKCE,
 * expiry, redirect URI and client binding) and call the provider for everything that is stored or
 * decided by policy.
 *
 * Provider-side records use camelCase; the two documents that go on the wire verbatim
 * ({@link OAuthClientInformation} and {@link OAuthToken}) keep their RFC member names.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749 RFC 6749 (OAuth 2.0)
 * @see https://www.rfc-editor.org/rfc/rfc7636 RFC 7636 (PKCE)
 * @see https://www.rfc-editor.org/rfc/rfc8707 RFC 8707 (resource indicators)
 */

/**
 * A registered client: its RFC 7591 §2 metadata and the RFC 7591 §3.2.1 information the server
 * assigned. Unknown members are kept.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-3.2.1 RFC 7591 §3.2.1
 */
export interface OAuthClientInformation {
  client_id: string
  /** Absent for public clients (`token_endpoint_auth_method: 'none'`). */
  client_secret?: string
  /** Seconds since the epoch. */
  client_id_issued_at?: number
  /** Seconds since the epoch; 0 means the secret never expires (RFC 7591 §3.2.1). */
  client_secret_expires_at?: number
  redirect_uris: string[]
  /** `client_secret_basic` (the RFC 7591 default), `client_secret_post` or `none`. */
  token_endpoint_auth_method?: string
  grant_types?: string[]
  response_types?: string[]
  /** Space-separated scopes the client may request. */
  scope?: string
  client_name?: string
  client_uri?: string
  logo_uri?: string
  contacts?: string[]
  tos_uri?: string
  policy_uri?: string
  jwks_uri?: string
  software_id?: string
  software_version?: string
  [member: string]: unknown
}

/**
 * The validated parameters of an authorization request, as `authorize` receives them. The
 * authorization endpoint has already checked the client, the redirect URI, `response_type=code`,
 * and that PKCE uses `S256` (RFC 7636 §4.3; OAuth 2.1 and MCP require PKCE).
 */
export interface AuthorizationParams {
  /** The client's opaque `state`, returned unchanged on the redirect. */
  state?: string
  /** Requested scopes; `undefined` when the request named none. */
  scopes?: string[]
  /** The RFC 7636 `code_challenge` (S256: BASE64URL(SHA256(code_verifier))). */
  codeChallenge: string
  /** Where the client wants the answer. */
  redirectUri: string
  /**
   * Whether the request carried `redirect_uri` (it may be left out when exactly one is
   * registered); if so the token request must repeat it (RFC 6749 §4.1.3).
   */
  redirectUriProvidedExplicitly: boolean
  /** RFC 8707 resource indicator: the resource server the token is wanted for. */
  resource?: string
}

/**
 * An issued authorization code, as `loadAuthorizationCode` returns it.
 *
 * Codes must be unguessable: generate them with at least 128 bits of entropy (160 bits or more
 * recommended), from a cryptographically secure generator (`crypto.randomBytes(32)`), and keep
 * them short-lived (RFC 6749 §4.1.2 recommends 10 minutes at most) and single use.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-10.10 RFC 6749 §10.10
 */
export interface AuthorizationCode {
  code: string
  clientId: string
  scopes: string[]
  /** Seconds since the epoch. */
  expiresAt: number
  codeChallenge: string
  redirectUri: string
  redirectUriProvidedExplicitly: boolean
  /** RFC 8707 resource indicator of the authorization request. */
  resource?: string
  /** The resource owner who approved; carried over to the tokens. */
  subject?: string
}

/** An issued refresh token, as `loadRefreshToken` returns it. */
export interface RefreshToken {
  token: string
  clientId: string
  scopes: string[]
  /** Seconds since the epoch; absent when it does not expire. */
  expiresAt?: number
  /** RFC 8707 resource the refreshed access tokens are restricted to. */
  resource?: string
  subject?: string
}

/**
 * An issued access token, as `loadAccessToken` returns it: the input of
 * `createProviderVerifier`, which turns it into a complete bearerkit `AccessToken`.
 * Optional members may also be `null` (as a port of Python's `None` returns them).
 */
export interface ProviderAccessToken {
  /** The token itself; when given it must equal the token that was looked up. */
  token?: string
  clientId: string
  /** Scope tokens (RFC 6749 §3.3). */
  scopes: readonly string[]
  /** Seconds since the epoch; absent when it does not expire. */
  expiresAt?: number | null
  /** RFC 8707 resource the token is restricted to. */
  resource?: string | null
  /** The resource owner (`sub`). */
  subject?: string | null
  /** The issuer (`iss`), when the provider names one. */
  issuer?: string | null
  /** Audiences (`aud`), when the provider names them. */
  audience?: string | readonly string[] | null
  /** More claims (`act`, custom ones ...). The members above win over same-named claims. */
  claims?: Readonly<Record<string, unknown>> | null
}

/**
 * The token endpoint's successful response body (RFC 6749 §5.1).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1 RFC 6749 §5.1
 */
export interface OAuthToken {
  access_token: string
  token_type: 'Bearer'
  /** Lifetime of the access token in seconds. */
  expires_in?: number
  /** Granted scopes, space-separated (required when they differ from the requested ones). */
  scope?: string
  refresh_token?: string
}

/**
 * The validated parameters of a SEP-990 identity-assertion request (RFC 7523 jwt-bearer grant,
 * `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.1 RFC 7523 §2.1
 */
export interface IdentityAssertionParams {
  /** The ID-JAG (a signed JWT) issued by the enterprise identity provider. */
  assertion: string
  /** Scopes named by the token request. Never grant them verbatim: derive from the assertion. */
  scopes?: string[]
  /** RFC 8707 resource named by the request. Client-controlled: the assertion's `resource` wins. */
  resource?: string
}

/** A value or a promise of it. */
export type Awaitable<T> = T | PromiseLike<T>

/**
 * What `createProviderVerifier` needs from a provider: `loadAccessToken` alone.
 */
export interface AccessTokenLoader {
  /**
   * The record of an access token this server issued, or `null` (or `undefined`) when the token
   * is unknown, revoked or otherwise not valid. Throw when the answer cannot be given now (store
   * down): that is reported as unavailable, never as an invalid token.
   */
  loadAccessToken(token: string): Awaitable<ProviderAccessToken | null | undefined>
}

/**
 * An OAuth authorization server's storage and policy, for an MCP server that is its own
 * authorization server (or proxies a third-party one). The operations and their meaning follow the
 * MCP Python SDK's provider protocol.
 *
 * @typeParam C The authorization code record (may carry more members).
 * @typeParam R The refresh token record.
 * @typeParam A The access token record.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1 RFC 6749 §4.1 (authorization code grant)
 * @example
 * ```ts
 * class MyProvider extends BaseAuthorizationServerProvider {
 *   async loadAccessToken(token: string) { return db.accessTokens.find(token) }
 *   // ... the other operations
 * }
 * ```
 */
export interface OAuthAuthorizationServerProvider<
  C extends AuthorizationCode = AuthorizationCode,
  R extends RefreshToken = RefreshToken,
  A extends ProviderAccessToken = ProviderAccessToken,
> extends AccessTokenLoader {
  /**
   * The registered client with this id, or `null` when there is none. May reject when dynamic
   * registration is not offered and clients live elsewhere.
   */
  getClient(clientId: string): Promise<OAuthClientInformation | null>

  /**
   * Stores a newly registered client (RFC 7591). `clientInfo` is complete: the registration
   * endpoint has assigned `client_id` (and `client_secret` for confidential clients).
   *
   * @throws RegistrationError when the metadata is not acceptable (`invalid_redirect_uri`,
   * `invalid_client_metadata` ...).
   */
  registerClient(clientInfo: OAuthClientInformation): Promise<void>

  /**
   * Handles a validated authorization request and answers with the URL the user agent is sent
   * to: a login or consent page, a third-party authorization server, or, once the user approved,
   * the client's `redirectUri` with `code` and `state` (RFC 6749 §4.1.2). The code must have at
   * least 128 bits of entropy (RFC 6749 §10.10; 160 recommended).
   *
   * @throws AuthorizeError for a request that is refused (`access_denied`, `invalid_scope` ...).
   */
  authorize(client: OAuthClientInformation, params: AuthorizationParams): Promise<string>

  /** The authorization code record, or `null` when the code is unknown or already used. */
  loadAuthorizationCode(client: OAuthClientInformation, code: string): Promise<C | null>

  /**
   * Exchanges a code that the token endpoint has checked (client, expiry, redirect URI, PKCE
   * verifier) for tokens. The code must stop working at once (RFC 6749 §4.1.2: single use).
   *
   * @throws TokenError when the exchange is refused.
   */
  exchangeAuthorizationCode(client: OAuthClientInformation, code: C): Promise<OAuthToken>

  /** The refresh token record, or `null` when it is unknown, expired or revoked. */
  loadRefreshToken(client: OAuthClientInformation, refreshToken: string): Promise<R | null>

  /**
   * Exchanges a refresh token for new tokens. Should rotate both: issue a new refresh token and
   * invalidate the presented one (RFC 9700 §4.14.2).
   *
   * @param scopes Requested scopes, already checked to be within the refresh token's; empty when
   * the request named none (grant the refresh token's scopes then, RFC 6749 §6).
   * @throws TokenError when the exchange is refused.
   */
  exchangeRefreshToken(
    client: OAuthClientInformation,
    refreshToken: R,
    scopes: string[],
  ): Promise<OAuthToken>

  /** See {@link AccessTokenLoader.loadAccessToken}. */
  loadAccessToken(token: string): Promise<A | null>

  /**
   * Revokes an access or refresh token (RFC 7009). Does nothing for a token that is unknown or
   * already revoked. Should revoke the related token too (the refresh token of an access token,
   * and the other way round).
   */
  revokeToken(token: A | R): Promise<void>

  /**
   * Exchanges a SEP-990 Identity Assertion Authorization Grant (ID-JAG) for an access token: leg 2
   * of SEP-990, the RFC 7523 jwt-bearer grant. Implementations validate `params.assertion` per
   * RFC 7523 §3 and SEP-990 §5.1: signature, `typ` `oauth-id-jag+jwt`, trusted `iss`, `exp`, `aud`
   * equal to this server's issuer, `sub` present, `jti` single use, the assertion's `client_id`
   * equal to the authenticated client; the token is restricted to the assertion's `resource` (not
   * the request's) and its scopes come from the assertion and policy, not from the request. No
   * refresh token should be issued: the identity provider controls the session's lifetime.
   *
   * The default ({@link unsupportedIdentityAssertion}, used by
   * {@link BaseAuthorizationServerProvider}) rejects with `TokenError('unsupported_grant_type')`.
   *
   * @throws TokenError `invalid_grant` for a rejected assertion, `invalid_target` for an unknown
   * resource.
   * @see https://www.rfc-editor.org/rfc/rfc7523#section-3 RFC 7523 §3
   */
  exchangeIdentityAssertion(
    client: OAuthClientInformation,
    params: IdentityAssertionParams,
  ): Promise<OAuthToken>
}
