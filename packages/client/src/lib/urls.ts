import { validateUrl } from '@bearerkit/core'
import { OAuthClientError } from '../errors.js'

/**
 * A URL a server sent us (an endpoint, an authorization server, a metadata location): https, or
 * http on loopback only, without credentials or fragment. Anything else is `ERR_INVALID_RESPONSE`
 * naming the field, never the value (it may be anything).
 */
export function serverUrl(field: string, value: unknown, what: string, source?: URL): URL {
  try {
    return validateUrl(field, value)
  } catch (cause) {
    throw new OAuthClientError('ERR_INVALID_RESPONSE', `${what}: ${field} is not a usable URL`, {
      cause,
      ...(source === undefined ? {} : { url: source.href }),
    })
  }
}

/**
 * The `.well-known` URL for `base` with the RFC 8615 segment inserted between the host and the
 * path (RFC 8414 §3.1, RFC 9728 §3.1); a terminating `/` of the path is dropped first. Without a
 * path, the plain `/.well-known/<name>`.
 */
export function insertWellKnown(base: URL, name: string): URL {
  const path = base.pathname.replace(/\/$/, '')
  return new URL(`/.well-known/${name}${path}`, base.origin)
}

/** The path of `base` without its terminating `/` ('' for none). */
export function trimmedPath(base: URL): string {
  return base.pathname.replace(/\/$/, '')
}
