import { readBoolean, validateUrl } from '@bearerkit/core'
import { OAuthClientError } from './errors.js'
import { readRequestOptions } from './lib/options.js'
import { insertWellKnown, serverUrl, trimmedPath } from './lib/urls.js'
import { firstDocument, stringArray, type DiscoveryAttempt } from './lib/well-known.js'
import type { RequestOptions } from './request-options.js'

/** Authorization server metadata (RFC 8414 §2); only the fields the client reads are typed. */
export interface AuthorizationServerMetadata {
  issuer: string
  authorization_endpoint?: string
  token_endpoint?: string
  registration_endpoint?: string
  jwks_uri?: string
  scopes_supported?: string[]
  response_types_supported?: string[]
  grant_types_supported?: string[]
  token_endpoint_auth_methods_supported?: string[]
  code_challenge_methods_supported?: string[]
  /** RFC 9207 §3. */
  authorization_response_iss_parameter_supported?: boolean
  /** SEP-991: the server accepts an https URL as `client_id` and fetches the document there. */
  client_id_metadata_document_supported?: boolean
  [field: string]: unknown
}

/**
 * Where the metadata came from: the RFC 8414 document, the OpenID Connect Discovery document, or
 * (on the `legacy` path only, when neither exists) the default endpoints of the 2025-03-26 MCP
 * specification (`/authorize`, `/token`, `/register` at the issuer's origin).
 */
export type AuthorizationServerSource =
  'oauth-authorization-server' | 'openid-configuration' | 'default-endpoints'

/** What {@link discoverAuthorizationServerMetadata} found. */
export interface AuthorizationServerDiscovery {
  /** The issuer as the metadata states it (equal to the one asked for, see `legacy`). */
  issuer: string
  metadata: Readonly<AuthorizationServerMetadata>
  source: AuthorizationServerSource
  /** Where the metadata was read; `undefined` for `default-endpoints`. */
  metadataUrl: string | undefined
  attempts: readonly DiscoveryAttempt[]
}

/** Options of {@link discoverAuthorizationServerMetadata}. */
export interface DiscoverAuthorizationServerOptions extends RequestOptions {
  /**
   * The issuer was not advertised but derived from the resource's origin (a protected resource
   * discovery whose `source` is `legacy`). Then `issuer` may be the origin with or without a
   * terminating `/`, and when no metadata exists at all the default endpoints are used. Default
   * false: the issuer must equal the one asked for exactly.
   */
  legacy?: boolean
}

const WHAT = 'Authorization server metadata request'
const ENDPOINTS = [
  'authorization_endpoint',
  'token_endpoint',
  'registration_endpoint',
  'jwks_uri',
  'revocation_endpoint',
  'introspection_endpoint',
] as const
const ARRAYS = [
  'scopes_supported',
  'response_types_supported',
  'grant_types_supported',
  'token_endpoint_auth_methods_supported',
  'code_challenge_methods_supported',
] as const

/**
 * The metadata URLs tried for an issuer, in the order of the MCP authorization specification:
 * with a path, RFC 8414 with the path inserted, OpenID Connect with the path inserted, OpenID
 * Connect with the path appended; without one, RFC 8414 then OpenID Connect at the root.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.1 RFC 8414 §3.1
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig OIDC Discovery §4
 * @example
 * ```ts
 * authorizationServerMetadataUrls('https://as.example.com/tenant').map(String)
 * // ['https://as.example.com/.well-known/oauth-authorization-server/tenant',
 * //  'https://as.example.com/.well-known/openid-configuration/tenant',
 * //  'https://as.example.com/tenant/.well-known/openid-configuration']
 * ```
 */
export function authorizationServerMetadataUrls(issuer: string): URL[] {
  const url = validateUrl('issuer', issuer)
  const path = trimmedPath(url)
  const rfc8414 = insertWellKnown(url, 'oauth-authorization-server')
  const oidcInserted = insertWellKnown(url, 'openid-configuration')
  if (path === '') return [rfc8414, oidcInserted]
  return [rfc8414, oidcInserted, new URL(`${path}/.well-known/openid-configuration`, url.origin)]
}

/**
 * Fetches an authorization server's metadata from the first well-known location that has it (see
 * {@link authorizationServerMetadataUrls}). The document's `issuer` must be exactly the issuer
 * asked for, with no normalisation (RFC 8414 §3.3): a mismatch is `ERR_ISSUER_MISMATCH` and no
 * other location is tried. Every endpoint must be an https URL (http only on loopback), on a
 * loopback host only when `issuer` is on loopback itself, and the list fields arrays of strings.
 *
 * Not checked here: whether the server supports what a later step needs (PKCE S256, an endpoint);
 * each step checks its own.
 *
 * @throws {@link OAuthClientError} `ERR_AS_METADATA_NOT_FOUND`, `ERR_ISSUER_MISMATCH`,
 *   `ERR_INVALID_RESPONSE`, and the request errors.
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.3 RFC 8414 §3.3
 * @example
 * ```ts
 * const { metadata } = await discoverAuthorizationServerMetadata('https://login.example.com')
 * metadata.token_endpoint // 'https://login.example.com/oauth/token'
 * ```
 */
export async function discoverAuthorizationServerMetadata(
  issuer: string,
  options: DiscoverAuthorizationServerOptions = {},
): Promise<AuthorizationServerDiscovery> {
  const { request, rest } = readRequestOptions('options', options, ['legacy'])
  const legacy = readBoolean('options.legacy', rest.legacy, false)
  const urls = authorizationServerMetadataUrls(issuer)
  const { found, attempts } = await firstDocument(urls, WHAT, request)
  if (found === undefined) {
    if (legacy) return defaultEndpoints(issuer, attempts)
    throw new OAuthClientError(
      'ERR_AS_METADATA_NOT_FOUND',
      'The authorization server publishes no metadata at any well-known location',
      { url: urls[0]?.href },
    )
  }
  const { url, document } = found
  const origin = new URL(issuer).origin
  const accepted = legacy ? [issuer, origin, `${origin}/`] : [issuer]
  if (typeof document.issuer !== 'string' || !accepted.includes(document.issuer)) {
    throw new OAuthClientError(
      'ERR_ISSUER_MISMATCH',
      `The authorization server metadata does not name ${issuer} as its issuer`,
      { url: url.href },
    )
  }
  for (const field of ENDPOINTS) {
    if (document[field] !== undefined) serverUrl(field, document[field], WHAT, issuer, url)
  }
  for (const field of ARRAYS) stringArray(document, field, WHAT, url)
  for (const field of [
    'authorization_response_iss_parameter_supported',
    'client_id_metadata_document_supported',
  ]) {
    if (document[field] !== undefined && typeof document[field] !== 'boolean') {
      throw new OAuthClientError('ERR_INVALID_RESPONSE', `${WHAT}: ${field} must be a boolean`, {
        url: url.href,
      })
    }
  }
  return Object.freeze({
    issuer: document.issuer,
    metadata: Object.freeze({ ...document }) as Readonly<AuthorizationServerMetadata>,
    source: url.pathname.includes('/.well-known/oauth-authorization-server')
      ? 'oauth-authorization-server'
      : 'openid-configuration',
    metadataUrl: url.href,
    attempts: Object.freeze(attempts),
  })
}

// MCP 2025-03-26 §2.3.3: without metadata, the endpoints are these paths at the origin.
function defaultEndpoints(
  issuer: string,
  attempts: readonly DiscoveryAttempt[],
): AuthorizationServerDiscovery {
  const origin = new URL(issuer).origin
  return Object.freeze({
    issuer: origin,
    metadata: Object.freeze({
      issuer: origin,
      authorization_endpoint: `${origin}/authorize`,
      token_endpoint: `${origin}/token`,
      registration_endpoint: `${origin}/register`,
      code_challenge_methods_supported: ['S256'],
    }),
    source: 'default-endpoints',
    metadataUrl: undefined,
    attempts: Object.freeze([...attempts]),
  })
}
