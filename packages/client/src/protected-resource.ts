import { invalidArgument, parseChallenge, readBoolean, validateUrl } from '@bearerkit/core'
import { OAuthClientError } from './errors.js'
import { readRequestOptions } from './lib/options.js'
import { insertWellKnown, serverUrl, trimmedPath } from './lib/urls.js'
import { firstDocument, stringArray, type DiscoveryAttempt } from './lib/well-known.js'
import type { RequestOptions } from './request-options.js'

export type { DiscoveryAttempt } from './lib/well-known.js'

/** Protected resource metadata (RFC 9728 §2); only the fields the client reads are typed. */
export interface ProtectedResourceMetadata {
  resource: string
  authorization_servers?: string[]
  scopes_supported?: string[]
  [field: string]: unknown
}

/**
 * How the authorization server was found:
 * - `www-authenticate`: the `resource_metadata` URL of a challenge (RFC 9728 §5.1);
 * - `path`: the well-known URL with the resource's path inserted (RFC 9728 §3.1);
 * - `root`: the well-known URL at the root of the resource's origin;
 * - `legacy`: no metadata anywhere, so the resource's origin is taken as the issuer, as the
 *   2025-03-26 MCP authorization specification did. The issuer checks are looser on this path
 *   (see {@link discoverAuthorizationServerMetadata}'s `legacy` option), which is why it is named.
 */
export type ProtectedResourceSource = 'www-authenticate' | 'path' | 'root' | 'legacy'

/** What {@link discoverProtectedResource} found. */
export interface ProtectedResourceDiscovery {
  /** The resource indicator to send (RFC 8707): the metadata's `resource`, or the URL asked about. */
  resource: string
  source: ProtectedResourceSource
  /** Where the metadata was read; `undefined` on the `legacy` path. */
  metadataUrl: string | undefined
  metadata: ProtectedResourceMetadata | undefined
  /** Issuers to use, in the metadata's order; the resource's origin on the `legacy` path. */
  authorizationServers: readonly string[]
  /** Scopes the resource advertises (`scopes_supported`), if any. */
  scopesSupported: readonly string[] | undefined
  /** Every URL tried, in order. */
  attempts: readonly DiscoveryAttempt[]
}

/** Options of {@link discoverProtectedResource}. */
export interface DiscoverProtectedResourceOptions extends RequestOptions {
  /**
   * The `WWW-Authenticate` header of a 401 or 403 from the resource. When a Bearer challenge in it
   * carries `resource_metadata`, that URL is used and the well-known locations are not tried.
   */
  wwwAuthenticate?: string | null | undefined
  /**
   * Take the resource's origin as the issuer when no metadata exists (the 2025-03-26 MCP
   * behaviour). Default true; with false, missing metadata is `ERR_RESOURCE_METADATA_NOT_FOUND`.
   */
  legacyFallback?: boolean
}

const WHAT = 'Protected resource metadata request'
const OPTIONS = ['wwwAuthenticate', 'legacyFallback']

/**
 * The `resource_metadata` URL of the first Bearer challenge that has one, or `undefined`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-5.1 RFC 9728 §5.1
 */
export function resourceMetadataUrlFromChallenge(
  header: string | null | undefined,
): string | undefined {
  if (header === undefined || header === null) return undefined
  for (const challenge of parseChallenge(header)) {
    if (challenge.scheme.toLowerCase() !== 'bearer') continue
    const url = challenge.params.resource_metadata
    if (url !== undefined) return url
  }
  return undefined
}

/**
 * Finds the authorization servers of a protected resource (an MCP server URL), in the order the
 * MCP authorization specification gives: the `resource_metadata` URL of a challenge when there is
 * one; otherwise the RFC 9728 well-known URL with the path inserted, then the one at the root;
 * otherwise (the 2025-03-26 fallback) the resource's origin as the issuer.
 *
 * The document must be a JSON object whose `resource` is exactly the URL asked about (RFC 9728
 * §3.3); for the root location, whose identifier is the origin, the origin (with or without a
 * terminating `/`) is accepted too. `authorization_servers` must be a non-empty array of https
 * URLs (http only on loopback). A 4xx means "not here" and the next location is tried; a 5xx,
 * 429, redirect or timeout stops discovery with an error.
 *
 * The challenge's `resource_metadata` and every authorization server may point at a loopback host
 * (`127.0.0.0/8`, `::1`, `localhost`, `0.0.0.0` ...) only when `resource` is on loopback itself;
 * otherwise they are `ERR_INVALID_RESPONSE` before anything is requested there, so that a remote
 * resource cannot send the client into the machine it runs on.
 *
 * Not checked: whether the authorization servers listed are trustworthy; the caller decides that.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for a bad `resource` or option.
 * @throws {@link OAuthClientError} `ERR_RESOURCE_MISMATCH`, `ERR_NO_AUTHORIZATION_SERVER`,
 *   `ERR_RESOURCE_METADATA_NOT_FOUND`, `ERR_INVALID_RESPONSE`, and the request errors.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3 RFC 9728 §3
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization MCP authorization
 * @example
 * ```ts
 * const found = await discoverProtectedResource('https://mcp.example.com/mcp', {
 *   wwwAuthenticate: response.headers.get('www-authenticate'),
 * })
 * found.source // 'www-authenticate'
 * found.authorizationServers // ['https://login.example.com']
 * ```
 */
export async function discoverProtectedResource(
  resource: string,
  options: DiscoverProtectedResourceOptions = {},
): Promise<ProtectedResourceDiscovery> {
  const { request, rest } = readRequestOptions('options', options, OPTIONS)
  const resourceUrl = validateUrl('resource', resource)
  const legacyFallback = readBoolean('options.legacyFallback', rest.legacyFallback, true)
  const header = rest.wwwAuthenticate
  if (header !== undefined && header !== null && typeof header !== 'string') {
    throw invalidArgument('options.wwwAuthenticate', 'must be a string or null')
  }
  const fromChallenge = resourceMetadataUrlFromChallenge(header)
  const attempts: DiscoveryAttempt[] = []

  if (fromChallenge !== undefined) {
    const url = serverUrl(
      'resource_metadata',
      fromChallenge,
      'WWW-Authenticate challenge',
      resourceUrl,
    )
    const { found } = await firstDocument([url], WHAT, request, attempts)
    if (found === undefined) {
      throw new OAuthClientError(
        'ERR_RESOURCE_METADATA_NOT_FOUND',
        'The resource_metadata URL of the challenge has no document',
        { url: url.href, status: attempts[0]?.status },
      )
    }
    return result('www-authenticate', found.url, found.document, resource, [resource], attempts)
  }

  const root = insertWellKnown(new URL(resourceUrl.origin), 'oauth-protected-resource')
  const candidates: [ProtectedResourceSource, URL][] =
    trimmedPath(resourceUrl) === ''
      ? [['root', root]]
      : [
          ['path', insertWellKnown(resourceUrl, 'oauth-protected-resource')],
          ['root', root],
        ]
  for (const [source, url] of candidates) {
    const { found } = await firstDocument([url], WHAT, request, attempts)
    if (found === undefined) continue
    const accepted =
      source === 'root' ? [resource, resourceUrl.origin, `${resourceUrl.origin}/`] : [resource]
    return result(source, url, found.document, resource, accepted, attempts)
  }

  if (!legacyFallback) {
    throw new OAuthClientError(
      'ERR_RESOURCE_METADATA_NOT_FOUND',
      'The resource publishes no protected resource metadata',
      { url: candidates[0]?.[1].href },
    )
  }
  return Object.freeze({
    resource,
    source: 'legacy',
    metadataUrl: undefined,
    metadata: undefined,
    authorizationServers: Object.freeze([resourceUrl.origin]),
    scopesSupported: undefined,
    attempts: Object.freeze(attempts),
  })
}

function result(
  source: ProtectedResourceSource,
  url: URL,
  document: Record<string, unknown>,
  requested: string,
  accepted: readonly string[],
  attempts: DiscoveryAttempt[],
): ProtectedResourceDiscovery {
  // RFC 9728 §3.3: a document naming another resource MUST NOT be used (it could steer the client
  // to an authorization server of the attacker's choosing for this resource).
  if (typeof document.resource !== 'string' || !accepted.includes(document.resource)) {
    throw new OAuthClientError(
      'ERR_RESOURCE_MISMATCH',
      `The protected resource metadata does not name ${requested} as its resource`,
      { url: url.href },
    )
  }
  const servers = stringArray(document, 'authorization_servers', WHAT, url)
  if (servers === undefined || servers.length === 0) {
    throw new OAuthClientError(
      'ERR_NO_AUTHORIZATION_SERVER',
      'The protected resource metadata lists no authorization server',
      { url: url.href },
    )
  }
  for (const server of servers) serverUrl('authorization_servers', server, WHAT, requested, url)
  const scopes = stringArray(document, 'scopes_supported', WHAT, url)
  return Object.freeze({
    resource: document.resource,
    source,
    metadataUrl: url.href,
    metadata: document as ProtectedResourceMetadata,
    authorizationServers: Object.freeze([...servers]),
    scopesSupported: scopes === undefined ? undefined : Object.freeze([...scopes]),
    attempts: Object.freeze(attempts),
  })
}
