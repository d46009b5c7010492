import { VerifierUnavailableError } from './errors.js'
import { fetchJson, validateUrl, type HttpRequestOptions } from './http.js'

/** Authorization server metadata (RFC 8414 §2); only the fields bearerkit reads are typed. */
export interface AuthorizationServerMetadata {
  issuer: string
  jwks_uri?: string
  introspection_endpoint?: string
  token_endpoint?: string
  revocation_endpoint?: string
  introspection_endpoint_auth_methods_supported?: string[]
  [field: string]: unknown
}

/** Options of {@link discoverAuthorizationServer}. */
export type DiscoveryOptions = Omit<HttpRequestOptions, 'method' | 'body'>

/**
 * The metadata URLs tried for `issuer`, in order: RFC 8414 (well-known segment inserted before the
 * issuer's path), then OpenID Connect Discovery (appended after it).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.1 RFC 8414 §3.1
 */
export function metadataUrls(issuer: string): [URL, URL] {
  const url = new URL(issuer)
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  const rfc8414 = new URL(`/.well-known/oauth-authorization-server${path}`, url.origin)
  const oidc = new URL(`${path}/.well-known/openid-configuration`, url.origin)
  return [rfc8414, oidc]
}

/**
 * Fetches an authorization server's metadata: RFC 8414 first, OpenID Connect Discovery when the
 * first answers with a 4xx status other than 429 (an outage, 5xx or 429 is not retried there). The document's `issuer` must be exactly the configured one (RFC 8414 §3.3),
 * and every endpoint in it must be a valid https URL (http only on loopback).
 *
 * Rejects with `VerifierUnavailableError` (reasons as {@link fetchJson}, plus `invalid_response`
 * and `issuer_mismatch`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.3 RFC 8414 §3.3
 */
export async function discoverAuthorizationServer(
  issuer: string,
  options: DiscoveryOptions = {},
): Promise<AuthorizationServerMetadata> {
  validateUrl('issuer', issuer)
  const [rfc8414, oidc] = metadataUrls(issuer)
  let document: unknown
  try {
    document = await fetchJson(rfc8414, 'Authorization server metadata request', options)
  } catch (error) {
    // Fall back only when the RFC 8414 document is not there (4xx other than 429); a server that
    // is down or busy would only get twice the requests.
    if (
      !(error instanceof VerifierUnavailableError) ||
      error.reason !== 'status' ||
      error.upstreamStatus === undefined ||
      error.upstreamStatus < 400 ||
      error.upstreamStatus >= 500 ||
      error.upstreamStatus === 429
    ) {
      throw error
    }
    document = await fetchJson(oidc, 'OpenID provider metadata request', options)
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new VerifierUnavailableError('Authorization server metadata is not a JSON object', {
      reason: 'invalid_response',
    })
  }
  const metadata = document as Record<string, unknown>
  if (metadata.issuer !== issuer) {
    throw new VerifierUnavailableError(
      'Authorization server metadata names a different issuer than the one configured',
      { reason: 'issuer_mismatch' },
    )
  }
  for (const field of ['jwks_uri', 'introspection_endpoint', 'token_endpoint']) {
    const value = metadata[field]
    if (value === undefined) continue
    try {
      validateUrl(field, value)
    } catch (cause) {
      throw new VerifierUnavailableError(`Authorization server metadata has an invalid ${field}`, {
        reason: 'invalid_response',
        cause,
      })
    }
  }
  return metadata as AuthorizationServerMetadata
}
