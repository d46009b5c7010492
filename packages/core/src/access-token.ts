import { createHash } from 'node:crypto'
import type { Confirmation, SenderConstraintContext } from './confirmation.js'
import type { TokenKey } from './scanned-token.js'

/**
 * A verified bearer token, as every bearerkit verifier returns it.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-2.2 RFC 9068 §2.2 (JWT access token claims)
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2 RFC 7662 §2.2 (introspection response)
 */
export interface AccessToken {
  /** The raw bearer token. Never log it. */
  readonly token: string
  /** The OAuth client the token was issued to (RFC 9068 `client_id`). */
  readonly clientId: string
  /** Granted scopes, without duplicates. */
  readonly scopes: readonly string[]
  /** Expiry, in seconds since the epoch. */
  readonly expiresAt?: number
  /** The end user (`sub`), when there is one. */
  readonly subject?: string
  /** The authorization server that issued the token (`iss`). */
  readonly issuer?: string
  /** The audiences the token is restricted to (`aud`), always as an array. */
  readonly audience?: readonly string[]
  /** The RFC 8707 resource the token is bound to, when the issuer says so. */
  readonly resource?: string
  /**
   * The confirmation of a sender-constrained token (`cnf`: `jkt` for DPoP, `x5t#S256` for mTLS),
   * when it has one. A verifier returns a bound token only to a caller whose proof context
   * matched it (see {@link VerifyOptions.senderConstraint}).
   */
  readonly cnf?: Readonly<Confirmation>
  /** Every claim as the issuer sent it (verified, frozen, inheriting nothing: see `safeClaims`). */
  readonly claims: Readonly<Record<string, unknown>>
  /**
   * The JSON form, with a fingerprint in place of the token (see {@link AccessTokenJson}). Every
   * AccessToken bearerkit builds has it, and a `util.inspect` form to match, and so has every one
   * that leaves `defineVerifier` or an HTTP gate (see `safeAccessToken`); a plain object from a
   * custom verifier called directly may not: {@link accessTokenJson} works for both.
   */
  readonly toJSON?: () => AccessTokenJson
}

/**
 * The JSON form of an {@link AccessToken}: every field but `token`, which is replaced by its
 * {@link tokenFingerprint}. What `JSON.stringify` writes for an AccessToken built by bearerkit, so
 * a token that reaches a log line, an error report or a response body by accident is not leaked.
 */
export interface AccessTokenJson {
  /** `sha256:` and 16 hex digits: tells tokens apart in logs without revealing them. */
  readonly tokenFingerprint: string
  /** See {@link AccessToken.clientId}. */
  readonly clientId: string
  /** See {@link AccessToken.scopes}. */
  readonly scopes: readonly string[]
  /** See {@link AccessToken.expiresAt}. */
  readonly expiresAt?: number
  /** See {@link AccessToken.subject}. */
  readonly subject?: string
  /** See {@link AccessToken.issuer}. */
  readonly issuer?: string
  /** See {@link AccessToken.audience}. */
  readonly audience?: readonly string[]
  /** See {@link AccessToken.resource}. */
  readonly resource?: string
  /** See {@link AccessToken.claims}. */
  readonly claims: Readonly<Record<string, unknown>>
}

/**
 * A short, stable name for a token that may be logged: `sha256:` and the first 16 hex digits of
 * the SHA-256 digest of the token. Two log lines about the same token show the same fingerprint;
 * the token cannot be recovered from it (bearer tokens are long random or signed strings, so 64
 * bits of their digest do not help guessing one).
 *
 * @example
 * ```ts
 * tokenFingerprint('2YotnFZFEjr1zCsicMWpAA') // 'sha256:' + 16 hex digits
 * ```
 */
export function tokenFingerprint(token: string): string {
  return `sha256:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`
}

/**
 * The {@link AccessTokenJson} of any AccessToken, bearerkit's or a custom verifier's: what to log
 * instead of the token itself.
 */
export function accessTokenJson(accessToken: AccessToken): AccessTokenJson {
  const json: Mutable<AccessTokenJson> = {
    tokenFingerprint: tokenFingerprint(accessToken.token),
    clientId: accessToken.clientId,
    scopes: accessToken.scopes,
  } as Mutable<AccessTokenJson>
  if (accessToken.expiresAt !== undefined) json.expiresAt = accessToken.expiresAt
  if (accessToken.subject !== undefined) json.subject = accessToken.subject
  if (accessToken.issuer !== undefined) json.issuer = accessToken.issuer
  if (accessToken.audience !== undefined) json.audience = accessToken.audience
  if (accessToken.resource !== undefined) json.resource = accessToken.resource
  json.claims = accessToken.claims
  return json
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

/**
 * The prototype of every AccessToken bearerkit builds: `toJSON` and Node's `util.inspect` hook,
 * both showing the fingerprint instead of the token. One shared object with non-enumerable
 * methods keeps building a token as cheap as a plain object (no closures, no extra own keys:
 * `Object.keys` and spreading see the data fields only).
 *
 * @internal Not exported from the package.
 */
export const ACCESS_TOKEN_PROTOTYPE: object = Object.freeze(
  Object.defineProperties(
    {},
    {
      toJSON: {
        value: function toJSON(this: AccessToken): AccessTokenJson {
          return accessTokenJson(this)
        },
      },
      [INSPECT]: {
        value: function inspectAccessToken(
          this: AccessToken,
          depth: number,
          options: { stylize: (text: string, style: string) => string },
          inspect: (value: unknown, options: unknown) => string,
        ): string {
          // Past the depth limit, as Node shows [Object]: a label, not the data.
          if (depth < 0) return options.stylize('[AccessToken]', 'special')
          return `AccessToken ${inspect(accessTokenJson(this), { ...options, depth: depth })}`
        },
      },
    },
  ),
)

/**
 * The time window in which a verifier would accept a token, in seconds since the epoch: never
 * before `notBefore`, never from `validUntil` on. Either end may be absent (no bound).
 *
 * @example
 * ```ts
 * // A verifier enforcing a maximum token age of 60 s on a token issued at `iat`.
 * options.onValidity?.({ validUntil: Math.min(exp, iat + 60) })
 * ```
 */
export interface Validity {
  readonly notBefore?: number
  readonly validUntil?: number
}

/** Options accepted by {@link TokenVerifier.verifyToken}. */
export interface VerifyOptions {
  /** Aborts the verification; the promise then rejects with the signal's reason. */
  readonly signal?: AbortSignal
  /**
   * Called once, synchronously, before `verifyToken` resolves to `null`, with the reason the token
   * was refused. The refusal never contains the token.
   */
  readonly onRefusal?: (refusal: Refusal) => void
  /**
   * Called synchronously, before `verifyToken` resolves to an AccessToken, by a verifier that
   * enforces a time bound other than the token's `exp` and `nbf` claims (a maximum token age, a
   * revocation time ...), with the window outside which it would refuse the token. A verifier
   * may call it more than once; the tightest bounds hold. A cache in front
   * (`createCachedVerifier`) never serves the token outside that window, so a verifier with such
   * a bound MUST report it: a cache cannot guess it.
   */
  readonly onValidity?: (validity: Validity) => void
  /**
   * What the HTTP layer proved about the request, after it checked the proof: the thumbprint of
   * the DPoP proof key (RFC 9449) and of the TLS client certificate (RFC 8705). A token bound by
   * `cnf` is accepted only when every confirmation it carries matches; without this option every
   * bound token is refused (`sender_constrained`), which is the safe default for direct callers.
   *
   * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1 RFC 9449 §7.1
   * @see https://www.rfc-editor.org/rfc/rfc8705#section-3 RFC 8705 §3
   */
  readonly senderConstraint?: SenderConstraintContext
  /**
   * The token's in-process cache key, computed while its syntax was checked
   * (`scanBearerToken`, which the HTTP gate calls for every request): an in-process cache in front
   * of the verifier uses it rather than hashing the token again. Used only for the token it was
   * made for; a verifier that keeps no cache ignores it.
   */
  readonly tokenKey?: TokenKey
}

/**
 * The one contract every bearerkit verifier implements.
 *
 * - resolves to an {@link AccessToken} for a valid token;
 * - resolves to `null` for a token that is not valid (bad signature, expired, wrong audience,
 *   inactive ...);
 * - rejects with a `VerifierUnavailableError` (code `ERR_VERIFIER_UNAVAILABLE`) when validity cannot
 *   be decided right now (JWKS or introspection endpoint down, timed out, answering garbage).
 *
 * An unavailable verifier is never turned into `null`, and a token is never accepted because a
 * check could not run.
 *
 * @example
 * ```ts
 * const accessToken = await verifier.verifyToken(token)
 * if (accessToken === null) reply.code(401)
 * ```
 */
export interface TokenVerifier {
  verifyToken(token: string, options?: VerifyOptions): Promise<AccessToken | null>
}

/** Stable reason codes for a refused token. */
export type RefusalCode =
  | 'malformed'
  | 'unsupported_token'
  | 'algorithm_not_allowed'
  | 'unknown_key'
  | 'bad_signature'
  | 'wrong_type'
  | 'unsupported_critical_header'
  | 'missing_claim'
  | 'invalid_claim'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'too_old'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'insufficient_scope'
  | 'inactive'
  | 'not_access_token'
  | 'rejected'
  | 'revoked'
  | 'unmatched'
  | 'sender_constrained'

/**
 * Why a token was refused: a stable {@link RefusalCode} and a short description fit to show a
 * client (`error_description`). Neither ever contains the token.
 */
export class Refusal {
  readonly code: RefusalCode
  readonly description: string

  constructor(code: RefusalCode, description: string) {
    this.code = code
    this.description = description
  }
}
