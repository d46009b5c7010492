import {
  Refusal,
  abortReason,
  accessTokenFromClaims,
  defineVerifier,
  hasAllScopes,
  isPromiseLike,
  isVerifierUnavailable,
  raceAbort,
  type AccessToken,
  type ClaimMapping,
  type SenderConstraintContext,
  type TokenVerifier,
  type VerifyOptions,
  readClock,
} from '@bearerkit/core'
import type { JwsAlgorithm } from './algorithms.js'
import {
  keyResolverFrom,
  type JwksOptions,
  type KeyInput,
  type KeyResolver,
  type SecretInput,
} from './key-resolver.js'
import { checkClaims } from './lib/claims-check.js'
import { createIssuerRouter } from './lib/issuer-router.js'
import { DEFAULT_MAX_TOKEN_BYTES, createJwsCheck } from './lib/jws-check.js'
import { CLOCK_TOLERANCE, resolveJwtOptions } from './lib/resolve-options.js'
import type { JwsHeader, VerifiedJws } from './verify-jws.js'

/**
 * One trusted issuer and its own key source (see {@link JwtVerifierOptions.issuers}).
 *
 * @example
 * ```ts
 * const partner: JwtIssuer = { issuer: 'https://partner.example.net', jwksUri: 'https://partner.example.net/keys' }
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4 RFC 9068 §4 (the issuer and its keys)
 */
export interface JwtIssuer {
  /** The issuer identifier, compared exactly with `iss`. */
  issuer: string
  /** Its JWKS URI. */
  jwksUri?: string | URL | undefined
  /**
   * Its static key. Without `jwksUri`, `key` and `secret`, the JWKS URI is discovered from
   * `issuer`.
   */
  key?: KeyInput | undefined
  /** Its shared secret, for HS256, HS384 or HS512. */
  secret?: SecretInput | undefined
}

/**
 * The custom check run last, on a token that passed every other check. Return `undefined` or
 * `true` to accept, `false` to refuse (`rejected`), or a `Refusal` to refuse with your own code
 * and description. A throw refuses too (`rejected`) and never escapes, except a
 * `VerifierUnavailableError` (code `ERR_VERIFIER_UNAVAILABLE`), which is passed on: use it when
 * the check could not run (a revocation list that cannot be read), so that the answer is 503.
 *
 * @example
 * ```ts
 * const validate: ValidateFunction = async (claims) =>
 *   (await revoked.has(String(claims.jti))) ? new Refusal('inactive', 'The access token is revoked') : true
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4 RFC 9068 §4 (further checks are the resource server's)
 */
export type ValidateFunction = (
  claims: Readonly<Record<string, unknown>>,
  header: JwsHeader,
) => boolean | undefined | Refusal | Promise<boolean | undefined | Refusal>

/**
 * Options of {@link createJwtVerifier}. Durations in seconds, except `timeout` and `jwks.timeout`
 * (milliseconds). An unknown option, at any level, is a `TypeError` naming the nearest known one.
 *
 * @example
 * ```ts
 * const options: JwtVerifierOptions = { issuer: 'https://login.example.com', audience: 'https://api.example.com/mcp' }
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9068 RFC 9068 (JWT profile for OAuth 2.0 access tokens)
 */
export interface JwtVerifierOptions {
  /** The one trusted issuer, compared exactly with `iss`. Use `issuers` for several. */
  issuer?: string | undefined
  /**
   * Several trusted issuers, each bound to its own key source: a token is verified only with the
   * keys of the issuer it names. Replaces `issuer`, `jwksUri` and `key`.
   */
  issuers?: readonly JwtIssuer[] | undefined
  /**
   * This resource server's identifier(s); `aud` must contain one of them. Required: pass `null`
   * to skip the check, knowingly (RFC 9068 §4 requires it; RFC 8707 tokens are audience-bound).
   */
  audience: string | readonly string[] | null
  /** The issuer's JWKS URI. Without `jwksUri` and `key`, it is discovered from `issuer`. */
  jwksUri?: string | URL | undefined
  /**
   * A static key: PEM SPKI or X.509 certificate, JWK or JWK Set (object or JSON text), KeyObject,
   * CryptoKey. A string is never taken as a shared secret: use `secret`.
   */
  key?: KeyInput | undefined
  /**
   * A shared secret for HS256, HS384 or HS512 (listed in `algorithms`): text, bytes or a secret
   * KeyObject. Text or bytes that are a public key (PEM, JSON, DER or its base64) are refused.
   */
  secret?: SecretInput | undefined
  /** Allowed `alg` values. Default {@link DEFAULT_ALGORITHMS} (asymmetric only). */
  algorithms?: readonly JwsAlgorithm[] | undefined
  /**
   * Accepted `typ` values, compared case-insensitively with `application/` implied. Default
   * `['at+jwt']` (RFC 9068 §2.1). Add `'JWT'` for issuers that do not type their access tokens,
   * or pass `null` to skip the check (then a missing `typ` is accepted too).
   */
  tokenTypes?: readonly string[] | null | undefined
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. Default 30. */
  clockTolerance?: number | undefined
  /** Oldest accepted token by `iat`, in seconds. */
  maxTokenAge?: number | undefined
  /**
   * Whether `iat` is required. Default `true` (RFC 9068 §2.2: `iat` is REQUIRED); `false` accepts
   * tokens of issuers that leave it out (not together with `maxTokenAge`).
   */
  requireIssuedAt?: boolean | undefined
  /** Whether `exp` is required. Default `true`. */
  requireExpiration?: boolean | undefined
  /** Scopes every token must grant; otherwise `insufficient_scope`. */
  requiredScopes?: readonly string[] | undefined
  /** A custom check run last; see {@link ValidateFunction}. */
  validate?: ValidateFunction | undefined
  /** Where to find client id, scopes and subject among the claims. */
  claims?: ClaimMapping | undefined
  /** JWKS cache settings. */
  jwks?: JwksOptions | undefined
  /**
   * Deadline of one discovery or JWKS request, in milliseconds (what `BEARERKIT_TIMEOUT` sets).
   * Default 5,000; `jwks.timeout` overrides it. No effect with a static key.
   */
  timeout?: number | undefined
  /** Clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: (() => number) | undefined
  /** The `fetch` used for discovery and JWKS. Default: the global one. */
  fetch?: typeof fetch | undefined
}

/**
 * A JWT access-token verifier: a `TokenVerifier` with key loading and release.
 *
 * @example
 * ```ts
 * const verifier: JwtVerifier = createJwtVerifier(options)
 * await verifier.ready()
 * process.on('SIGTERM', () => verifier.close())
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 RFC 6750 §3.1 (invalid_token, and 503 when unavailable)
 */
export type JwtVerifier = TokenVerifier & {
  /** Loads every key source now (discovery, JWKS); rejects with `VerifierUnavailableError`. */
  ready(): Promise<void>
  /** Aborts pending fetches; later verifications reject with `VerifierUnavailableError`. */
  close(): void
}

// `createVerifier({ type: 'jwt', ... })` in core takes exactly these options once this package's
// types are loaded: core cannot import them (see VerifierKinds in @bearerkit/core).
declare module '@bearerkit/core' {
  interface VerifierKinds {
    /** {@link JwtVerifierOptions} in, {@link JwtVerifier} out. */
    jwt: { options: JwtVerifierOptions; verifier: JwtVerifier }
  }
}

/**
 * Default allowed clock skew, in seconds: enough for drifting containers and tokens used the
 * second they are issued, small next to an access token's lifetime.
 *
 * @example
 * ```ts
 * createJwtVerifier({ ...options, clockTolerance: DEFAULT_CLOCK_TOLERANCE * 2 })
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4 RFC 7519 §4.1.4 (some small leeway)
 */
export const DEFAULT_CLOCK_TOLERANCE = CLOCK_TOLERANCE

const rejected = new Refusal('rejected', 'The access token was rejected by a custom check')
const insufficient = new Refusal('insufficient_scope', 'The access token lacks a required scope')

/**
 * Creates a verifier of JWT access tokens (RFC 9068): signature with the issuer's keys (JWKS URI,
 * discovery or static key), header (`alg` allow-list, `typ`, `crit`), then `iss`, `aud`, `exp`,
 * `nbf`, `iat`, token age, claim types, required scopes and your own `validate` check.
 *
 * An invalid token resolves to `null` (the reason goes to `onRefusal` and the `bearerkit:verify`
 * channel); keys that cannot be had reject with `VerifierUnavailableError`.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for a configuration mistake, naming the option.
 * @example
 * ```ts
 * const verifier = createJwtVerifier({
 *   issuer: 'https://login.example.com',
 *   audience: 'https://api.example.com/mcp',
 * })
 * await verifier.ready()
 * const accessToken = await verifier.verifyToken(token)
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4 RFC 9068 §4 (validating JWT access tokens)
 * @see https://www.rfc-editor.org/rfc/rfc8725 RFC 8725 (JWT best current practices)
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const settings = resolveJwtOptions(options)
  const { policy, requiredScopes, mapping, validate, now } = settings
  const resolvers = new Map<string, KeyResolver>()
  for (const [issuer, source] of settings.sources) resolvers.set(issuer, keyResolverFrom(source))
  const keys = createIssuerRouter(resolvers)
  const jws = createJwsCheck({
    keys,
    algorithms: new Set(settings.algorithms),
    types: settings.types,
    criticalHeaders: new Set(),
    maxLength: DEFAULT_MAX_TOKEN_BYTES,
  })

  const finish = (
    token: string,
    verified: VerifiedJws | Refusal,
    onValidity: VerifyOptions['onValidity'],
    senderConstraint: SenderConstraintContext | undefined,
    signal: AbortSignal | undefined,
  ): AccessToken | Refusal | Promise<AccessToken | Refusal> => {
    if (verified instanceof Refusal) return verified
    const { header, payload } = verified
    // A clock that gives no number would pass every time check: 503, never an acceptance.
    const at = readClock(now, 'the access token') / 1000
    const failure = checkClaims(payload, policy, at, senderConstraint)
    if (failure !== undefined) return failure
    const accessToken = accessTokenFromClaims(token, payload, mapping)
    if (accessToken instanceof Refusal) return accessToken
    if (requiredScopes.length > 0 && !hasAllScopes(accessToken.scopes, requiredScopes)) {
      return insufficient
    }
    if (policy.maxTokenAge !== undefined && onValidity !== undefined) {
      // A cache in front sees exp and nbf on the token, but not the age bound: report it, or a
      // hit would serve a token this verifier refuses as too_old. checkClaims has proven iat to
      // be a number when maxTokenAge is set.
      onValidity({
        validUntil: (payload.iat as number) + policy.maxTokenAge + policy.clockTolerance,
      })
    }
    if (validate === undefined) return accessToken
    return runValidate(validate, accessToken, header, signal)
  }

  const verifier = defineVerifier('jwt', (token, { signal, onValidity, senderConstraint }) => {
    const verified = jws(token, signal)
    return isPromiseLike(verified)
      ? Promise.resolve(verified).then((result) =>
          finish(token, result, onValidity, senderConstraint, signal),
        )
      : finish(token, verified, onValidity, senderConstraint, signal)
  })
  return Object.assign(verifier, {
    ready: () => keys.ready(),
    close: () => keys.close(),
  })
}

async function runValidate(
  validate: ValidateFunction,
  accessToken: AccessToken,
  header: JwsHeader,
  signal: AbortSignal | undefined,
): Promise<AccessToken | Refusal> {
  let outcome: unknown
  try {
    // A hook that never answers must not hold the caller past its own abort; what it answers
    // after that is dropped, a rejection included.
    const answer = Promise.resolve(validate(accessToken.claims, header))
    answer.catch(() => undefined)
    outcome = await raceAbort(answer, signal)
  } catch (error) {
    if (isVerifierUnavailable(error)) throw error
    // The caller gave up: that is no verdict on the token, and never a refusal.
    if (signal?.aborted === true) throw abortReason(signal)
    return rejected
  }
  if (outcome === undefined || outcome === true) return accessToken
  if (outcome instanceof Refusal) return outcome
  return rejected
}
