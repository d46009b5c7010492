import { invalidArgument } from '@bearerkit/core'
import { metadataPath, parseResourceUrl, resolveResource } from './lib/resource.js'
import { resolveAllowOrigin } from './lib/settings.js'
import { pathOf } from './lib/target.js'
import type { ProtectedResourceOptions } from './options.js'
import { readHeader, type HeaderRecord } from './request.js'
import type { GateResponse } from './response.js'

export { WELL_KNOWN_PATH } from './lib/resource.js'

/**
 * The URL of a resource's RFC 9728 metadata: the well-known segment goes between the host and the
 * resource's path, and a resource without a path (or with just `/`) gets the bare well-known path.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) when `resourceUrl` is not an https URL (http for
 * loopback only) or has credentials, a query or a fragment.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3.1 RFC 9728 §3.1
 * @example
 * ```ts
 * protectedResourceMetadataUrl('https://api.example.com/mcp')
 * // 'https://api.example.com/.well-known/oauth-protected-resource/mcp'
 * protectedResourceMetadataUrl('https://api.example.com')
 * // 'https://api.example.com/.well-known/oauth-protected-resource'
 * ```
 */
export function protectedResourceMetadataUrl(resourceUrl: string): string {
  const url = parseResourceUrl('resourceUrl', resourceUrl)
  return url.origin + metadataPath(url)
}

/** A resource's RFC 9728 metadata document and how it is served. */
export interface ProtectedResourceMetadata {
  /** The resource identifier, as configured. */
  readonly resource: string
  /** Absolute URL of the document (what `resource_metadata` in challenges points at). */
  readonly url: string
  /** Local path of the document: `/.well-known/oauth-protected-resource` + the resource's path. */
  readonly path: string
  /** The document, fields in RFC 9728 §2 order. */
  readonly document: Readonly<Record<string, unknown>>
  /** `Access-Control-Allow-Origin` of the answers, or `false` for none. */
  readonly allowOrigin: string | false
  /**
   * The answer to a request for the document: `GET`/`HEAD` get it (200), an `OPTIONS` preflight
   * gets the CORS answer (204) when CORS is on. `null` for any other path or method: not ours.
   */
  respond(request: {
    readonly method: string
    readonly url: string
    readonly headers: Headers | HeaderRecord
  }): GateResponse | null
}

// A comma-separated list of header names (RFC 9110 §5.6.1 tokens), as a preflight asks for them.
const HEADER_LIST = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*,[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+)*$/

/** Options of {@link createProtectedResourceMetadata}. */
export interface ProtectedResourceMetadataOptions {
  /** The protected resource. */
  resource: ProtectedResourceOptions
  /** `Access-Control-Allow-Origin`: `'*'` (default), one origin, or `false` for no CORS. */
  allowOrigin?: string | false
}

/**
 * Validates a resource and prepares its metadata answers, for serving the document without a
 * gate (a root that describes resources protected elsewhere).
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the option at fault.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3 RFC 9728 §3
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol Fetch, the CORS protocol
 * @example
 * ```ts
 * const metadata = createProtectedResourceMetadata({
 *   resource: { url: 'https://api.example.com/mcp', authorizationServers: [issuer] },
 * })
 * const answer = metadata.respond(request)
 * if (answer !== null) return toWebResponse(answer)
 * ```
 */
export function createProtectedResourceMetadata(
  options: ProtectedResourceMetadataOptions,
): ProtectedResourceMetadata {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgument('options', 'must be an object with a resource')
  }
  for (const key of Object.keys(options)) {
    if (key !== 'resource' && key !== 'allowOrigin') {
      throw invalidArgument(`options.${key}`, 'is not a known option')
    }
  }
  const resolved = resolveResource('options.resource', options.resource)
  const allowOrigin = resolveAllowOrigin('options.allowOrigin', options.allowOrigin)
  return metadataOf(
    resolved.url,
    resolved.metadataUrl,
    resolved.metadataPath,
    resolved.document,
    allowOrigin,
  )
}

/** The metadata answers of an already validated resource. */
export function metadataOf(
  resource: string,
  url: string,
  path: string,
  document: Readonly<Record<string, unknown>>,
  allowOrigin: string | false,
): ProtectedResourceMetadata {
  const body = JSON.stringify(document)
  const cors: Record<string, string> =
    allowOrigin === false ? {} : { 'access-control-allow-origin': allowOrigin }
  const found = Object.freeze({
    ...cors,
    'content-type': 'application/json; charset=utf-8',
  })
  return Object.freeze({
    resource,
    url,
    path,
    document,
    allowOrigin,
    respond(request: {
      readonly method: string
      readonly url: string
      readonly headers: Headers | HeaderRecord
    }): GateResponse | null {
      if (pathOf(request.url) !== path) return null
      if (request.method === 'GET' || request.method === 'HEAD') {
        return { status: 200, headers: found, body: request.method === 'HEAD' ? null : body }
      }
      if (request.method !== 'OPTIONS' || allowOrigin === false) return null
      const headers: Record<string, string> = {
        ...cors,
        'access-control-allow-methods': 'GET, HEAD, OPTIONS',
      }
      const asked = readHeader(request.headers, 'access-control-request-headers')
      // Echo the requested headers (MCP clients send MCP-Protocol-Version) when they are a
      // well-formed list; the document is public, so any header may accompany the GET.
      if (typeof asked === 'string' && HEADER_LIST.test(asked)) {
        headers['access-control-allow-headers'] = asked
      }
      headers['access-control-max-age'] = '86400'
      return { status: 204, headers, body: null }
    },
  })
}
