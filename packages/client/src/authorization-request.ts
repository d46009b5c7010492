import { randomBytes } from 'node:crypto'
import {
  invalidArgument,
  isOptionsObject,
  readOptionalString,
  readOptionsObject,
  readString,
  rejectUnknownOptions,
  validateUrl,
} from '@bearerkit/core'
import type { AuthorizationServerMetadata } from './authorization-server.js'
import { OAuthClientError } from './errors.js'
import { readResource, readScope } from './lib/resource.js'
import { serverUrl } from './lib/urls.js'
import { createPkcePair } from './pkce.js'

/** Options of {@link createAuthorizationRequest}. */
export interface AuthorizationRequestOptions {
  server: Readonly<AuthorizationServerMetadata>
  clientId: string
  redirectUri: string
  /** RFC 8707 resource indicator; mandatory. */
  resource: string
  scope?: string
  /** Default: 32 random bytes, base64url. */
  state?: string
}

/**
 * An authorization request in flight: the URL to send the user agent to, and what the response
 * must be checked against ({@link readAuthorizationResponse}) and the code redeemed with. Keep it
 * per request; the verifier is a secret.
 */
export interface PendingAuthorization {
  url: URL
  state: string
  codeVerifier: string
  /** The issuer recorded for RFC 9207 (`iss` must equal it). */
  issuer: string
  /** Whether the server promised `iss` in responses (RFC 9207 §3). */
  issRequired: boolean
  clientId: string
  redirectUri: string
  resource: string
  scope: string | undefined
}

const KNOWN = ['server', 'clientId', 'redirectUri', 'resource', 'scope', 'state']

/**
 * Builds an authorization code request with PKCE S256 (RFC 7636), `state`, `scope` and the
 * mandatory `resource` (RFC 8707 §2.1). Query parameters already in the authorization endpoint are
 * kept (RFC 6749 §3.1). The server must advertise S256 in `code_challenge_methods_supported`: the
 * MCP specification tells clients to refuse to proceed otherwise.
 *
 * @throws {@link OAuthClientError} `ERR_UNSUPPORTED_BY_SERVER` without an authorization endpoint or S256.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1 RFC 6749 §4.1.1
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3 RFC 7636 §4.3
 * @example
 * ```ts
 * const pending = createAuthorizationRequest({
 *   server: metadata, clientId, redirectUri: 'http://127.0.0.1:8976/callback',
 *   resource: 'https://mcp.example.com/mcp', scope: 'mcp:tools',
 * })
 * await openBrowser(pending.url)
 * ```
 */
export function createAuthorizationRequest(
  options: AuthorizationRequestOptions,
): PendingAuthorization {
  const input = readOptionsObject('options', options)
  rejectUnknownOptions('options', input, KNOWN)
  const server = input.server
  if (!isOptionsObject(server))
    throw invalidArgument('options.server', 'must be authorization server metadata')
  const issuer = readString('options.server.issuer', server.issuer)
  const clientId = readString('options.clientId', input.clientId)
  const redirectUri = validateUrl('options.redirectUri', input.redirectUri).href
  const resource = readResource('options.resource', input.resource)
  const scope = readScope('options.scope', input.scope)
  const state =
    readOptionalString('options.state', input.state) ?? randomBytes(32).toString('base64url')
  if (server.authorization_endpoint === undefined) {
    throw new OAuthClientError(
      'ERR_UNSUPPORTED_BY_SERVER',
      `The authorization server ${issuer} has no authorization_endpoint`,
    )
  }
  const methods = server.code_challenge_methods_supported
  if (!Array.isArray(methods) || !methods.includes('S256')) {
    throw new OAuthClientError(
      'ERR_UNSUPPORTED_BY_SERVER',
      `The authorization server ${issuer} does not advertise PKCE S256 (code_challenge_methods_supported)`,
    )
  }
  const url = serverUrl(
    'authorization_endpoint',
    server.authorization_endpoint,
    'Authorization server metadata',
    issuer,
  )
  const pkce = createPkcePair()
  const query = url.searchParams
  query.set('response_type', 'code')
  query.set('client_id', clientId)
  query.set('redirect_uri', redirectUri)
  query.set('code_challenge', pkce.codeChallenge)
  query.set('code_challenge_method', pkce.codeChallengeMethod)
  query.set('state', state)
  query.set('resource', resource)
  if (scope !== undefined) query.set('scope', scope)
  return Object.freeze({
    url,
    state,
    codeVerifier: pkce.codeVerifier,
    issuer,
    issRequired: server.authorization_response_iss_parameter_supported === true,
    clientId,
    redirectUri,
    resource,
    scope,
  })
}
