import { scanBearerToken, type TokenKey } from '@bearerkit/core'

/** Why the `Authorization` header yields no token. Frozen constants: nothing is allocated. */
export interface HeaderProblem {
  /** Log-safe reason code. */
  readonly reason: 'missing_token' | 'other_scheme' | 'malformed_header'
  /** 401 without an error code (no usable credentials), or 400 `invalid_request`. */
  readonly status: 400 | 401
  readonly description: string
}

const problem = (
  reason: HeaderProblem['reason'],
  status: 400 | 401,
  description: string,
): HeaderProblem => Object.freeze({ reason, status, description })

export const NO_CREDENTIALS = problem('missing_token', 401, 'Authentication is required')
// RFC 6750 §3.1: a request without Bearer credentials gets a challenge without an error code;
// another scheme is not a malformed Bearer request.
export const OTHER_SCHEME = problem('other_scheme', 401, 'Authentication is required')
const REPEATED = problem('malformed_header', 400, 'The Authorization header must be sent once')
const TOO_LARGE = problem('malformed_header', 400, 'The Authorization header is too large')
const NO_TOKEN = problem('malformed_header', 400, 'The Authorization header carries no token')
const TOKEN_TOO_LARGE = problem('malformed_header', 400, 'The bearer token is too large')
const MALFORMED_TOKEN = problem('malformed_header', 400, 'The bearer token is malformed')
const MALFORMED = problem('malformed_header', 400, 'The Authorization header is malformed')

// RFC 9110 §11.1: auth-scheme = token
const SCHEME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// A comma, then a scheme followed by a space and something other than `=`, or by nothing: the
// start of second credentials, never an auth-param (`name = value`).
const SECOND_CREDENTIALS = /,[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?: +[^ =]| *(?:,|$))/

/**
 * The bearer token of an `Authorization` header value (with its in-process cache key), or why
 * there is none (RFC 6750 §2.1).
 * Scheme case-insensitive (RFC 9110 §11.1), one space or more before the token. No description
 * ever contains the header value.
 */
export function parseAuthorization(
  header: string | readonly string[] | undefined | null,
  maxLength: number,
  expected: 'bearer' | 'dpop' = 'bearer',
): TokenKey | HeaderProblem {
  if (header === undefined || header === null) return NO_CREDENTIALS
  let value: string
  if (typeof header === 'string') {
    value = header
  } else {
    if (header.length > 1) return REPEATED
    value = header[0] ?? ''
  }
  if (value === '') return NO_CREDENTIALS
  // Scheme, then at least one space; the length check comes first so a huge header costs nothing.
  if (value.length > maxLength + 7 + 16) return TOO_LARGE
  let start: number
  if (expected === 'bearer' && value.startsWith('Bearer ')) {
    start = 7
  } else {
    const space = value.indexOf(' ')
    const scheme = space === -1 ? value : value.slice(0, space)
    // RFC 9449 §7.1: the DPoP scheme carries the token in the same token68 syntax.
    if (scheme.toLowerCase() !== expected) {
      if (!SCHEME.test(scheme)) return value.includes(',') ? REPEATED : MALFORMED
      // RFC 9110 §5.3: repeated header lines may be combined with commas (web-standard Headers
      // do). Another scheme's auth-params have commas too (Digest), so only a second scheme
      // after a comma counts as credentials sent twice.
      return SECOND_CREDENTIALS.test(value) ? REPEATED : OTHER_SCHEME
    }
    if (space === -1) return NO_TOKEN
    start = space
  }
  while (start < value.length && value.charCodeAt(start) === 0x20) start++
  if (start === value.length) return NO_TOKEN
  const token = value.slice(start)
  // Every token is scanned, the same one as last time too: skipping the scan for a token equal to
  // the last accepted one took a comparison that stops at the first differing character, against
  // a string the client chooses (a timing channel on another client's token), and a comparison
  // that does not stop early (timingSafeEqual, a keyed hash) costs as much as the scan it skips.
  if (token.length > maxLength) return TOKEN_TOO_LARGE
  // RFC 6750 §2.1: b64token. The same reading of the token's bytes gives its in-process cache
  // key, which the verifier's cache then need not compute again.
  const scanned = scanBearerToken(token)
  if (scanned === null) {
    // A b64token has no comma: a comma after Bearer means credentials were sent more than once.
    return token.includes(',') ? REPEATED : MALFORMED_TOKEN
  }
  return scanned
}
