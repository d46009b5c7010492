import { isB64Token } from './b64token.js'
import { InvalidRequestError } from './errors.js'

/** Default upper bound on the size of an `Authorization` header value, in bytes. */
export const DEFAULT_MAX_TOKEN_LENGTH = 16 * 1024

/** Options of {@link extractBearerToken}. */
export interface ExtractBearerTokenOptions {
  /** Largest accepted token, in characters. Default 16 KiB. */
  maxLength?: number
}

/**
 * Takes the token out of an `Authorization` header value (RFC 6750 §2.1).
 *
 * - absent (undefined, or an empty string) -> `null`, which is "no credentials";
 * - `Bearer <b64token>` (scheme case-insensitive, one space or more) -> the token;
 * - anything else (another scheme, `Bearer` alone, two tokens, characters outside b64token,
 *   non-ASCII, a repeated header, more than `maxLength`) -> `InvalidRequestError`.
 *
 * The error message never contains the header value.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1 RFC 6750 §2.1
 * @example
 * ```ts
 * const token = extractBearerToken(request.headers.authorization)
 * ```
 */
export function extractBearerToken(
  headerValue: string | readonly string[] | undefined | null,
  options: ExtractBearerTokenOptions = {},
): string | null {
  const maxLength = options.maxLength ?? DEFAULT_MAX_TOKEN_LENGTH
  if (headerValue === undefined || headerValue === null) return null
  if (typeof headerValue !== 'string') {
    // Node joins nothing for Authorization; an array means the header was sent more than once.
    throw new InvalidRequestError('The Authorization header must be sent once')
  }
  if (headerValue === '') return null
  // Scheme, then at least one space; the length check comes first so a huge header costs nothing.
  if (headerValue.length > maxLength + 7 + 16) {
    throw new InvalidRequestError('The Authorization header is too large')
  }
  const space = headerValue.indexOf(' ')
  const scheme = space === -1 ? headerValue : headerValue.slice(0, space)
  if (scheme.toLowerCase() !== 'bearer') {
    throw new InvalidRequestError('The Authorization header must use the Bearer scheme')
  }
  let start = space
  while (start !== -1 && start < headerValue.length && headerValue.charCodeAt(start) === 0x20) {
    start++
  }
  const token = space === -1 ? '' : headerValue.slice(start)
  if (token === '') {
    throw new InvalidRequestError('The Authorization header carries no token')
  }
  if (token.length > maxLength) {
    throw new InvalidRequestError('The bearer token is too large')
  }
  if (!isB64Token(token)) {
    throw new InvalidRequestError('The bearer token is malformed')
  }
  return token
}
