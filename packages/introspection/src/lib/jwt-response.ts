import type { KeyObject } from 'node:crypto'
import {
  decodeJwtHeader,
  httpRequest,
  isVerifierUnavailable,
  parseRetryAfter,
} from '@bearerkit/core'
import {
  createRemoteJWKSet,
  customFetch,
  jwtVerify,
  type JWTVerifyGetKey,
  type RemoteJWKSet,
} from 'jose'
import type { JwtResponseSettings } from './resolve-options.js'
import { bareCause, unavailable } from './unavailable.js'

/** RFC 9701 §4: media type of a signed introspection response, asked for and required. */
export const JWT_RESPONSE_TYPE = 'application/token-introspection+jwt'
/** RFC 9701 §5: `typ` header of a signed introspection response. */
const JWT_RESPONSE_TYP = 'token-introspection+jwt'
const JWT_CONTENT_TYPE = /^application\/token-introspection\+jwt\s*(?:;|$)/i

/** The HTTP guards every request shares. */
export interface HttpGuards {
  readonly timeout: number
  readonly maxBytes: number
  readonly signal: AbortSignal
  readonly fetch: typeof fetch | undefined
  readonly now: () => number
}

/** Where the keys of signed responses come from. */
export type ResponseKeys =
  | { readonly kind: 'static'; readonly key: KeyObject }
  | { readonly kind: 'remote'; readonly jwks: RemoteJWKSet }

/**
 * A JWKS fetched with the same guards as every other request (deadline, size limit, no
 * redirects): jose's own fetch is replaced by core's `httpRequest`, whose failures reach the
 * caller as `VerifierUnavailableError`.
 */
export function remoteKeys(url: URL, guards: HttpGuards): ResponseKeys {
  const fetchJwks = async (href: string): Promise<Response> => {
    const response = await httpRequest(href, 'JWKS request', {
      timeout: guards.timeout,
      maxBytes: guards.maxBytes,
      signal: guards.signal,
      headers: { accept: 'application/json, application/jwk-set+json' },
      ...(guards.fetch === undefined ? {} : { fetch: guards.fetch }),
    })
    if (response.status !== 200) {
      throw unavailable('JWKS request: the server answered with an unexpected status', 'status', {
        retryAfter: parseRetryAfter(response.headers.get('retry-after'), guards.now()),
      })
    }
    return new Response(response.body, { status: 200 })
  }
  const jwks = createRemoteJWKSet(url, { [customFetch]: fetchJwks })
  return { kind: 'remote', jwks }
}

/** A static verification key. */
export function staticKey(key: KeyObject): ResponseKeys {
  return { kind: 'static', key }
}

/**
 * Verifies an RFC 9701 response and returns its `token_introspection` member, unvalidated (the
 * caller validates it as any introspection answer). Content type, signature, `typ`, `iss`, `aud`
 * and `iat` are checked; any failure is `VerifierUnavailableError`, because a response that cannot
 * be trusted says nothing about the token.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9701#section-5 RFC 9701 §5
 * @see https://www.rfc-editor.org/rfc/rfc9701#section-8.1 RFC 9701 §8.1 (cross-JWT confusion)
 */
export async function verifyJwtResponse(
  contentType: string | null,
  body: string,
  keys: ResponseKeys,
  settings: JwtResponseSettings,
  expected: {
    readonly issuer: string
    readonly clientId: string
    readonly at: number
    readonly token: string
    readonly signal: AbortSignal
  },
): Promise<unknown> {
  // RFC 9701 §4: asked for a JWT, a plain JSON answer is a downgrade and is not accepted.
  if (!JWT_CONTENT_TYPE.test(contentType ?? '')) {
    throw unavailable(
      'The introspection response is not an application/token-introspection+jwt document',
      'content_type',
    )
  }
  const getKey: JWTVerifyGetKey | KeyObject = keys.kind === 'static' ? keys.key : keys.jwks
  let payload: Record<string, unknown>
  try {
    const verified = await jwtVerify(body.trim(), getKey as JWTVerifyGetKey, {
      algorithms: [...settings.algorithms],
      issuer: expected.issuer,
      audience: expected.clientId,
      typ: JWT_RESPONSE_TYP,
      currentDate: new Date(expected.at),
      clockTolerance: settings.clockTolerance,
      maxTokenAge: settings.maxAge,
      requiredClaims: ['iat'],
    })
    payload = verified.payload
  } catch (error) {
    if (isVerifierUnavailable(error)) throw error
    const code = (error as { code?: unknown } | null)?.code
    if (code === 'ERR_JWKS_NO_MATCHING_KEY') {
      throw unavailable('The signed introspection response names no known key', 'no_key', {
        cause: bareCause(error),
      })
    }
    throw unavailable('The signed introspection response is not valid', 'invalid_response', {
      cause: bareCause(error),
    })
  }
  const answer = payload.token_introspection
  // RFC 9701 binds the response to the client (aud) and the server (iss), not to the token: a
  // genuine answer about token A would say the same about any string B. What can be bound is.
  const answerJti = (answer as { jti?: unknown } | null)?.jti
  if (answerJti !== undefined) {
    const tokenJti = peekJti(expected.token)
    // A JWT access token names itself by jti (RFC 9068 §2.2); an answer naming another is about
    // another token.
    if (tokenJti !== undefined && answerJti !== tokenJti) {
      throw unavailable(
        'The signed introspection response is about another token',
        'token_mismatch',
      )
    }
  }
  // The response's own jti, when the server sets one: each response is accepted once, so one
  // captured for token A cannot be served again, for A or for B.
  const jti = payload.jti
  if (jti !== undefined) {
    if (typeof jti !== 'string' || jti === '') {
      throw unavailable('The signed introspection response has an invalid jti', 'invalid_response')
    }
    const iat = payload.iat as number
    const first = await settings.replayStore.markUsed(
      `introspection-response ${expected.issuer} ${jti}`,
      // Kept until the response is refused as too old. jose compares whole seconds (the clock
      // floored), so it accepts while floor(now) <= iat + maxAge + tolerance: up to the end of
      // that second. An entry expiring at its start left the last second open to a replay.
      Math.floor(iat + settings.maxAge + settings.clockTolerance) + 1,
      { signal: expected.signal },
    )
    if (!first) {
      throw unavailable('The signed introspection response was seen before', 'replayed')
    }
  }
  return answer
}

/** The UNVERIFIED `jti` of a compact JWS token, or `undefined` when it has none or is not one. */
function peekJti(token: string): unknown {
  if (decodeJwtHeader(token) === null) return undefined
  try {
    const payload: unknown = JSON.parse(
      Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8'),
    )
    return (payload as { jti?: unknown } | null)?.jti
  } catch {
    return undefined
  }
}
