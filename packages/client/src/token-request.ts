import { invalidArgument, isOptionsObject, readFunction, readString } from '@bearerkit/core'
import type { AuthorizationServerMetadata } from './authorization-server.js'
import { readClientInformation, type OAuthClientInformation } from './client-information.js'
import { OAuthClientError } from './errors.js'
import { authenticateClient } from './lib/client-authentication.js'
import { jsonObject, send, statusError } from './lib/http.js'
import { redacted } from './lib/redact.js'
import { readRequestOptions } from './lib/options.js'
import { readResource, readScope } from './lib/resource.js'
import { serverUrl } from './lib/urls.js'
import type { RequestOptions } from './request-options.js'

/**
 * Where and as whom a token request is made: the authorization server's metadata (its `issuer`
 * and `token_endpoint`), the client, and the request limits.
 */
export interface TokenEndpointContext extends RequestOptions {
  server: Readonly<AuthorizationServerMetadata>
  client: Readonly<OAuthClientInformation>
  /** Clock in milliseconds since the epoch, for `expiresAt` and client assertions. Default `Date.now`. */
  now?: () => number
}

/**
 * A successful token response (RFC 6749 §5.1), checked and bound to the issuer and resource it
 * was requested from, so that a refresh token is never presented to another server.
 */
export interface TokenSet {
  accessToken: string
  /** `Bearer`, or for token exchange whatever the server says (`N_A` for an ID-JAG). */
  tokenType: string
  /** Seconds since the epoch, from `expires_in`; `undefined` when the server gave no lifetime. */
  expiresAt: number | undefined
  refreshToken: string | undefined
  /** The granted scope when the server returned one (RFC 6749 §5.1: else the requested one). */
  scope: string | undefined
  idToken: string | undefined
  /** RFC 8693 §2.2.1 `issued_token_type`. */
  issuedTokenType: string | undefined
  /** The issuer the token came from. */
  issuer: string
  /** The resource indicator it was requested for. */
  resource: string
}

/** The grant-specific form fields of a token request; `undefined` values are left out. */
export type GrantParameters = Readonly<Record<string, string | undefined>>

const WHAT = 'Token request'
const CONTEXT_OPTIONS = ['server', 'client', 'now']

/** Reads and checks a context once, up front. */
function readContext(value: unknown): {
  server: Readonly<AuthorizationServerMetadata>
  client: Readonly<OAuthClientInformation>
  request: RequestOptions
  now: () => number
  tokenEndpoint: URL
} {
  const { request, rest } = readRequestOptions('context', value, CONTEXT_OPTIONS)
  const server = rest.server
  if (!isOptionsObject(server))
    throw invalidArgument('context.server', 'must be authorization server metadata')
  const issuer = readString('context.server.issuer', server.issuer)
  if (server.token_endpoint === undefined) {
    throw new OAuthClientError(
      'ERR_UNSUPPORTED_BY_SERVER',
      `The authorization server ${issuer} has no token_endpoint`,
    )
  }
  const tokenEndpoint = serverUrl(
    'token_endpoint',
    server.token_endpoint,
    'Authorization server metadata',
    issuer,
  )
  const client = readClientInformation('context.client', rest.client)
  // A client registered with one authorization server is never presented to another.
  if (client.issuer !== undefined && client.issuer !== issuer) {
    throw invalidArgument(
      'context.client.issuer',
      'names another authorization server than context.server',
    )
  }
  const now = readFunction<() => number>('context.now', rest.now) ?? Date.now
  return { server: server as AuthorizationServerMetadata, client, request, now, tokenEndpoint }
}

/**
 * Makes one token request (RFC 6749 §3.2): a POST of the form, client authentication, and the
 * mandatory RFC 8707 `resource`. The response is checked in a fixed order: status (any other than
 * 200 is an error carrying the server's OAuth error JSON intact), JSON object, then each field:
 * `access_token` and `token_type` non-empty strings (the tokens printable ASCII, RFC 6749
 * Appendix A), `token_type` `Bearer` (case-insensitive)
 * unless `anyTokenType`, `expires_in` a non-negative number, the rest strings.
 *
 * Not checked: the access token itself (it is opaque to the client, RFC 6749 §1.4), and whether
 * the granted scope covers the requested one (the caller compares `scope` if it matters).
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for an empty or invalid `resource`.
 * @throws {@link OAuthClientError} `ERR_OAUTH_ERROR_RESPONSE`, `ERR_UNEXPECTED_STATUS`,
 *   `ERR_INVALID_RESPONSE`, `ERR_UNSUPPORTED_BY_SERVER`, and the request errors.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5 RFC 6749 §5
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2.2 RFC 8707 §2.2
 * @example
 * ```ts
 * const tokens = await requestToken(context, 'client_credentials', {}, 'https://mcp.example.com/mcp')
 * ```
 */
export async function requestToken(
  context: TokenEndpointContext,
  grantType: string,
  parameters: GrantParameters,
  resource: string,
  options: { scope?: string | undefined; anyTokenType?: boolean } = {},
): Promise<TokenSet> {
  const checkedResource = readResource('resource', resource)
  const scope = readScope('scope', options.scope)
  const { server, client, request, now, tokenEndpoint } = readContext(context)
  const body = new URLSearchParams({ grant_type: readString('grantType', grantType) })
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== undefined) body.set(name, value)
  }
  body.set('resource', checkedResource)
  if (scope !== undefined) body.set('scope', scope)
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  }
  await authenticateClient(
    client,
    server,
    tokenEndpoint.href,
    body,
    headers,
    Math.floor(now() / 1000),
  )
  const response = await send(tokenEndpoint, WHAT, {
    ...request,
    method: 'POST',
    headers,
    body: body.toString(),
  })
  if (response.status !== 200) throw statusError(response, WHAT, tokenEndpoint)
  const document = jsonObject(response, WHAT, tokenEndpoint)
  return parseTokenResponse(document, tokenEndpoint, {
    issuer: server.issuer,
    resource: checkedResource,
    now: now(),
    anyTokenType: options.anyTokenType === true,
  })
}

function field(document: Record<string, unknown>, name: string, url: URL): string | undefined {
  const value = document[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') {
    throw new OAuthClientError(
      'ERR_INVALID_RESPONSE',
      `${WHAT}: ${name} must be a non-empty string`,
      {
        url: url.href,
        status: 200,
      },
    )
  }
  return value
}

// RFC 6749 A.12, A.17: access-token and refresh-token are 1*VSCHAR. Anything else cannot be sent
// in a header (fetch would refuse it with an error that quotes the header, token and all).
function token(document: Record<string, unknown>, name: string, url: URL): string | undefined {
  const value = field(document, name, url)
  if (value !== undefined && !/^[\x20-\x7e]+$/.test(value)) {
    throw new OAuthClientError(
      'ERR_INVALID_RESPONSE',
      `${WHAT}: ${name} must be printable ASCII (RFC 6749 Appendix A)`,
      { url: url.href, status: 200 },
    )
  }
  return value
}

function parseTokenResponse(
  document: Record<string, unknown>,
  url: URL,
  bound: { issuer: string; resource: string; now: number; anyTokenType: boolean },
): TokenSet {
  const accessToken = token(document, 'access_token', url)
  const tokenType = field(document, 'token_type', url)
  if (accessToken === undefined || tokenType === undefined) {
    throw new OAuthClientError(
      'ERR_INVALID_RESPONSE',
      `${WHAT}: access_token and token_type are required (RFC 6749 §5.1)`,
      { url: url.href, status: 200 },
    )
  }
  // A DPoP or other sender-constrained token cannot be used as a bearer token by this client.
  if (!bound.anyTokenType && tokenType.toLowerCase() !== 'bearer') {
    throw new OAuthClientError('ERR_INVALID_RESPONSE', `${WHAT}: token_type is not Bearer`, {
      url: url.href,
      status: 200,
    })
  }
  const expiresIn = document.expires_in
  if (
    expiresIn !== undefined &&
    (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn < 0)
  ) {
    throw new OAuthClientError(
      'ERR_INVALID_RESPONSE',
      `${WHAT}: expires_in must be a non-negative number`,
      {
        url: url.href,
        status: 200,
      },
    )
  }
  const tokens: TokenSet = {
    accessToken,
    tokenType,
    expiresAt: expiresIn === undefined ? undefined : Math.floor(bound.now / 1000) + expiresIn,
    refreshToken: token(document, 'refresh_token', url),
    scope: typeof document.scope === 'string' ? document.scope : field(document, 'scope', url),
    idToken: field(document, 'id_token', url),
    issuedTokenType: field(document, 'issued_token_type', url),
    issuer: bound.issuer,
    resource: bound.resource,
  }
  return Object.freeze(redacted(tokens, ['accessToken', 'refreshToken', 'idToken']))
}
