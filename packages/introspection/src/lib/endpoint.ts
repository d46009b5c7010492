import { discoverAuthorizationServer, type AuthorizationServerMetadata } from '@bearerkit/core'
import { remoteKeys, staticKey, type HttpGuards, type ResponseKeys } from './jwt-response.js'
import type { Settings } from './resolve-options.js'
import { unavailable } from './unavailable.js'

/** Where to send introspection requests and how to check signed answers. */
export interface Endpoint {
  readonly url: URL
  /** Keys of RFC 9701 responses; `null` when plain JSON answers are expected. */
  readonly keys: ResponseKeys | null
}

/**
 * Resolves the {@link Endpoint}: at once when everything is configured, otherwise by discovery
 * from the issuer's metadata (RFC 8414, then OpenID Connect). Concurrent callers share one
 * discovery; a failed discovery is forgotten so the next call tries again.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2 RFC 8414 §2 (introspection_endpoint)
 */
export function createEndpointResolver(
  settings: Settings,
  guards: HttpGuards,
): () => Promise<Endpoint> {
  const jwt = settings.jwtResponse
  const configuredKeys = (): ResponseKeys | null | undefined => {
    if (jwt === null) return null
    if (jwt.key !== undefined) return staticKey(jwt.key)
    if (jwt.jwksUri !== undefined) return remoteKeys(jwt.jwksUri, guards)
    return undefined
  }
  const keys = configuredKeys()
  if (settings.introspectionUrl !== undefined && keys !== undefined) {
    const ready = Promise.resolve<Endpoint>({ url: settings.introspectionUrl, keys })
    return () => ready
  }

  const discover = async (): Promise<Endpoint> => {
    // Only reached with an issuer: the options check demands one or the other.
    const metadata: AuthorizationServerMetadata = await discoverAuthorizationServer(
      settings.issuer as string,
      {
        timeout: guards.timeout,
        maxBytes: guards.maxBytes,
        signal: guards.signal,
        now: guards.now,
        ...(guards.fetch === undefined ? {} : { fetch: guards.fetch }),
      },
    )
    let url = settings.introspectionUrl
    if (url === undefined) {
      // Core's discovery checked the value is a valid URL when present.
      if (metadata.introspection_endpoint === undefined) {
        throw unavailable(
          'Authorization server metadata names no introspection_endpoint',
          'invalid_response',
        )
      }
      url = new URL(metadata.introspection_endpoint)
    }
    let found = keys
    if (found === undefined) {
      if (metadata.jwks_uri === undefined) {
        throw unavailable('Authorization server metadata names no jwks_uri', 'invalid_response')
      }
      found = remoteKeys(new URL(metadata.jwks_uri), guards)
    }
    return { url, keys: found }
  }

  let resolved: Promise<Endpoint> | undefined
  return () => {
    if (resolved === undefined) {
      const attempt = discover()
      resolved = attempt
      attempt.catch(() => {
        if (resolved === attempt) resolved = undefined
      })
    }
    return resolved
  }
}
