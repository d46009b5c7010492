import { metadataPath, parseResourceUrl } from './lib/resource.js'

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
