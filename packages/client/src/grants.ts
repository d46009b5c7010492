import {
  invalidArgument,
  readOptionsObject,
  readString,
  rejectUnknownOptions,
} from '@bearerkit/core'
import { OAuthClientError } from './errors.js'
import { redacted } from './lib/redact.js'
import { readResource } from './lib/resource.js'
import { requestToken, type TokenEndpointContext, type TokenSet } from './token-request.js'

/** RFC 8693 §2.1: the grant type of token exchange. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
/** RFC 7523 §2.1: the grant type of a JWT authorization grant. */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

/** RFC 8693 §3 token type identifiers, and the ID-JAG of the identity assertion grant draft. */
export const TOKEN_TYPES = Object.freeze({
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  refreshToken: 'urn:ietf:params:oauth:token-type:refresh_token',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  idJag: 'urn:ietf:params:oauth:token-type:id-jag',
})

function read(name: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  const input = readOptionsObject(name, value)
  rejectUnknownOptions(name, input, known)
  readResource(`${name}.resource`, input.resource)
  return input
}

function optionalString(name: string, value: unknown): string | undefined {
  return value === undefined ? undefined : readString(name, value)
}

/** Parameters of {@link exchangeAuthorizationCode}. */
export interface AuthorizationCodeGrant {
  code: string
  /** The PKCE verifier of the authorization request (RFC 7636 §4.5). */
  codeVerifier: string
  /** The exact `redirect_uri` of the authorization request. */
  redirectUri: string
  resource: string
}

/**
 * Redeems an authorization code (RFC 6749 §4.1.3) with its PKCE verifier (RFC 7636 §4.5) and the
 * resource it was requested for (RFC 8707 §2.2).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3 RFC 6749 §4.1.3
 * @example
 * ```ts
 * const code = readAuthorizationResponse(pending, callbackUrl)
 * const tokens = await exchangeAuthorizationCode(context, {
 *   code, codeVerifier: pending.codeVerifier, redirectUri: pending.redirectUri, resource: pending.resource,
 * })
 * ```
 */
export async function exchangeAuthorizationCode(
  context: TokenEndpointContext,
  grant: AuthorizationCodeGrant,
): Promise<TokenSet> {
  const input = read('grant', grant, ['code', 'codeVerifier', 'redirectUri', 'resource'])
  return requestToken(
    context,
    'authorization_code',
    {
      code: readString('grant.code', input.code),
      code_verifier: readString('grant.codeVerifier', input.codeVerifier),
      redirect_uri: readString('grant.redirectUri', input.redirectUri),
    },
    input.resource as string,
  )
}

/** Parameters of {@link refreshAccessToken}. */
export interface RefreshGrant {
  /** The token set whose refresh token is used; it must come from `context.server`. */
  tokens: TokenSet
  /** Narrower scope, if wanted (RFC 6749 §6). */
  scope?: string
  /** Default: the resource of `tokens`. */
  resource?: string
}

/**
 * Refreshes a token set (RFC 6749 §6), sending `resource` again (RFC 8707 §2.2). The refresh
 * token is only ever presented to the issuer that issued it. When the answer carries no new
 * refresh token, the result keeps the one presented (RFC 6749 §6).
 *
 * @throws {@link OAuthClientError} `ERR_ISSUER_MISMATCH` when `tokens` came from another issuer.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6 RFC 6749 §6
 * @example
 * ```ts
 * const fresh = await refreshAccessToken(context, { tokens })
 * ```
 */
export async function refreshAccessToken(
  context: TokenEndpointContext,
  grant: RefreshGrant,
): Promise<TokenSet> {
  const input = readOptionsObject('grant', grant)
  rejectUnknownOptions('grant', input, ['tokens', 'scope', 'resource'])
  const tokens = readOptionsObject('grant.tokens', input.tokens) as unknown as TokenSet
  const refreshToken = readString('grant.tokens.refreshToken', tokens.refreshToken)
  const resource = readResource('grant.resource', input.resource ?? tokens.resource)
  if (tokens.issuer !== context.server.issuer) {
    throw new OAuthClientError(
      'ERR_ISSUER_MISMATCH',
      'The refresh token was issued by another authorization server; it is not presented here',
    )
  }
  const fresh = await requestToken(
    context,
    'refresh_token',
    { refresh_token: refreshToken },
    resource,
    { scope: input.scope as string | undefined },
  )
  // RFC 6749 §6: the server MAY issue a new refresh token (then the old one is discarded); when
  // it does not, the one presented stays in use.
  if (fresh.refreshToken !== undefined) return fresh
  return Object.freeze(
    redacted({ ...fresh, refreshToken }, ['accessToken', 'refreshToken', 'idToken']),
  )
}

/** Parameters of {@link requestClientCredentials}. */
export interface ClientCredentialsGrant {
  resource: string
  scope?: string
}

/**
 * The client credentials grant (RFC 6749 §4.4): a token for the client itself.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4 RFC 6749 §4.4
 * @example
 * ```ts
 * const tokens = await requestClientCredentials(
 *   { server: metadata, client: { clientId: 'svc', clientSecret } },
 *   { resource: 'https://mcp.example.com/mcp', scope: 'mcp:tools' },
 * )
 * ```
 */
export async function requestClientCredentials(
  context: TokenEndpointContext,
  grant: ClientCredentialsGrant,
): Promise<TokenSet> {
  const input = read('grant', grant, ['resource', 'scope'])
  return requestToken(context, 'client_credentials', {}, input.resource as string, {
    scope: input.scope as string | undefined,
  })
}

/** Parameters of {@link exchangeToken}. */
export interface TokenExchangeGrant {
  subjectToken: string
  /** For example {@link TOKEN_TYPES}.idToken or .accessToken. */
  subjectTokenType: string
  /** For example {@link TOKEN_TYPES}.idJag. */
  requestedTokenType?: string
  actorToken?: string
  actorTokenType?: string
  /** RFC 8693 §2.1 `audience`: for an ID-JAG, the issuer of the authorization server it is for. */
  audience?: string
  resource: string
  scope?: string
}

/**
 * Token exchange (RFC 8693 §2.1), for example an ID token exchanged for an identity assertion
 * (ID-JAG) to present at another authorization server, or a caller's access token exchanged for
 * one for a downstream service. `issued_token_type` is required in the response (§2.2.1), and any
 * `token_type` is accepted (`N_A` for tokens that are not access tokens).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8693#section-2 RFC 8693 §2
 * @example
 * ```ts
 * const jag = await exchangeToken(context, {
 *   subjectToken: idToken,
 *   subjectTokenType: TOKEN_TYPES.idToken,
 *   requestedTokenType: TOKEN_TYPES.idJag,
 *   audience: 'https://as.downstream.example',
 *   resource: 'https://mcp.downstream.example/mcp',
 * })
 * ```
 */
export async function exchangeToken(
  context: TokenEndpointContext,
  grant: TokenExchangeGrant,
): Promise<TokenSet> {
  const input = read('grant', grant, [
    'subjectToken',
    'subjectTokenType',
    'requestedTokenType',
    'actorToken',
    'actorTokenType',
    'audience',
    'resource',
    'scope',
  ])
  const actorToken = optionalString('grant.actorToken', input.actorToken)
  const actorTokenType = optionalString('grant.actorTokenType', input.actorTokenType)
  // RFC 8693 §2.1: actor_token_type is REQUIRED with actor_token and MUST NOT be sent without it.
  if ((actorToken === undefined) !== (actorTokenType === undefined)) {
    throw invalidArgument(
      'grant.actorTokenType',
      'goes with grant.actorToken: give both or neither',
    )
  }
  const tokens = await requestToken(
    context,
    TOKEN_EXCHANGE_GRANT,
    {
      subject_token: readString('grant.subjectToken', input.subjectToken),
      subject_token_type: readString('grant.subjectTokenType', input.subjectTokenType),
      requested_token_type: optionalString('grant.requestedTokenType', input.requestedTokenType),
      actor_token: actorToken,
      actor_token_type: actorTokenType,
      audience: optionalString('grant.audience', input.audience),
    },
    input.resource as string,
    { scope: input.scope as string | undefined, anyTokenType: true },
  )
  if (tokens.issuedTokenType === undefined) {
    throw new OAuthClientError(
      'ERR_INVALID_RESPONSE',
      'Token exchange response: issued_token_type is required (RFC 8693 §2.2.1)',
      { url: String(context.server.token_endpoint), status: 200 },
    )
  }
  return tokens
}

/** Parameters of {@link requestJwtBearer}. */
export interface JwtBearerGrant {
  /** The JWT presented as the grant, e.g. an ID-JAG from {@link exchangeToken}. */
  assertion: string
  resource: string
  scope?: string
}

/**
 * The JWT bearer grant (RFC 7523 §2.1): presents a JWT, such as an ID-JAG, for an access token.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.1 RFC 7523 §2.1
 * @example
 * ```ts
 * const tokens = await requestJwtBearer(context, { assertion: jag.accessToken, resource })
 * ```
 */
export async function requestJwtBearer(
  context: TokenEndpointContext,
  grant: JwtBearerGrant,
): Promise<TokenSet> {
  const input = read('grant', grant, ['assertion', 'resource', 'scope'])
  return requestToken(
    context,
    JWT_BEARER_GRANT,
    { assertion: readString('grant.assertion', input.assertion) },
    input.resource as string,
    { scope: input.scope as string | undefined },
  )
}
