import type { KeyObject } from 'node:crypto'
import type { ClaimMapping, ReplayStore, SharedResultCache, TokenVerifier } from '@bearerkit/core'
import type { JWK } from 'jose'

/**
 * How the verifier authenticates to the introspection endpoint.
 *
 * - `client_secret_basic`: HTTP Basic with the form-encoded id and secret (RFC 6749 §2.3.1);
 * - `client_secret_post`: `client_id` and `client_secret` in the request body;
 * - `private_key_jwt`: a short-lived client assertion signed with `privateKey` (RFC 7523 §2.2);
 * - `none`: no client authentication (only `client_id`, when given, is sent).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1 RFC 6749 §2.3.1
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2 RFC 7523 §2.2
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.1 RFC 7662 §2.1
 * @example
 * ```ts
 * const method: ClientAuthMethod = 'client_secret_post'
 * ```
 */
export type ClientAuthMethod =
  'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none'

/**
 * A key given as a JWK object, a Node `KeyObject` or a PEM string (PKCS#8 or SPKI as the use
 * requires).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7517 RFC 7517 (JWK)
 * @example
 * ```ts
 * const privateKey: KeyInput = JSON.parse(process.env.CLIENT_JWK as string)
 * ```
 */
export type KeyInput = JWK | KeyObject | string

/**
 * The introspection result cache. Durations are in seconds, on the token time scale.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-4 RFC 7662 §4 (caching and its risks)
 * @example
 * ```ts
 * createIntrospectionVerifier({ ...options, cache: { max: 50_000, ttl: 30, negativeTtl: 0 } })
 * ```
 */
export interface IntrospectionCacheOptions {
  /** Most entries held; the least recently used go first. Default 10,000. */
  max?: number | undefined
  /**
   * Longest an active answer is reused, in seconds; never past the token's `exp`. Default 60.
   * A token revoked at the authorization server stays accepted here until its entry dies.
   */
  ttl?: number | undefined
  /** How long an inactive answer is reused, in seconds. Default 5; 0 disables it. */
  negativeTtl?: number | undefined
}

/**
 * RFC 9701 signed introspection responses. The verifier asks for
 * `application/token-introspection+jwt` and accepts nothing else; the JWT must carry
 * `typ: token-introspection+jwt`, `iss` equal to `issuer`, `aud` equal to `clientId`, an `iat`
 * no older than `maxAge`, and a valid signature by a key of the authorization server.
 *
 * Keys come from `key`, else from `jwksUri`, else from the `jwks_uri` of the issuer's metadata.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9701#section-5 RFC 9701 §5
 * @example
 * ```ts
 * createIntrospectionVerifier({ ...options, jwtResponse: { algorithms: ['ES256'] } })
 * ```
 */
export interface JwtResponseOptions {
  /** JWKS of the authorization server. Default: `jwks_uri` from the issuer's metadata. */
  jwksUri?: string | undefined
  /** A static public key of the authorization server, instead of a JWKS. */
  key?: KeyInput | undefined
  /**
   * Accepted signing algorithms. Default: the asymmetric JWS algorithms (RS*, PS*, ES*, EdDSA,
   * Ed25519); `none` and symmetric algorithms are never accepted.
   */
  algorithms?: readonly string[] | undefined
  /** Allowed clock skew when checking the response's `iat` and `exp`, in seconds. Default 5. */
  clockTolerance?: number | undefined
  /** Oldest accepted response, by its `iat`, in seconds. Default 300. */
  maxAge?: number | undefined
  /**
   * Where the `jti` of each signed response is claimed, so that a response is accepted once.
   * Default: a bounded in-memory store of this verifier. A fleet shares one
   * (`@bearerkit/redis`). A store that cannot answer makes the introspection fail with
   * `VerifierUnavailableError` (503), never accept.
   */
  replayStore?: ReplayStore | undefined
}

/**
 * Options of `createIntrospectionVerifier`. Durations on the token time scale are in seconds;
 * `timeout` is in milliseconds.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662 RFC 7662
 * @example
 * ```ts
 * const options: IntrospectionVerifierOptions = {
 *   introspectionUrl: 'https://login.example.com/oauth2/introspect',
 *   audience: 'https://api.example.com/mcp',
 *   clientId: 'mcp-server',
 *   clientAuthMethod: 'private_key_jwt',
 *   privateKey: clientJwk,
 *   cache: { ttl: 30 },
 * }
 * ```
 */
export interface IntrospectionVerifierOptions {
  /** The introspection endpoint. Required unless `issuer` is given (then discovered). */
  introspectionUrl?: string | undefined
  /**
   * The authorization server's issuer identifier. Used to discover the endpoint (RFC 8414, then
   * OpenID Connect Discovery) when `introspectionUrl` is absent, and checked against the `iss`
   * of every answer that carries one.
   */
  issuer?: string | undefined
  /**
   * The audience of this resource server: an answer must name one of these in `aud`.
   * Required; skipping the check takes an explicit `null`.
   */
  audience: string | readonly string[] | null
  /**
   * Refuse an active answer without `token_type` (refusal `not_access_token`). Default `true`.
   *
   * RFC 7662 §2.2 makes `token_type` optional, but an answer without it may be about a token
   * that is not an access token at all: oidc-provider, asked about a refresh token, answers
   * `active: true` with no `token_type`. With `audience: null` nothing else would tell the two
   * apart. Set `false` only for an authorization server that never omits it for refresh tokens
   * and never omits `aud`.
   */
  requireTokenType?: boolean | undefined
  /** Client id of this resource server at the authorization server. */
  clientId?: string | undefined
  /** Client secret, for `client_secret_basic` and `client_secret_post`. */
  clientSecret?: string | undefined
  /** Default `client_secret_basic`. */
  clientAuthMethod?: ClientAuthMethod | undefined
  /** Private key for `private_key_jwt` (a private JWK, a private `KeyObject` or a PKCS#8 PEM). */
  privateKey?: KeyInput | undefined
  /**
   * JWS algorithm of the client assertion. Default: the JWK's `alg`, else RS256 for RSA, PS256
   * for RSA-PSS, ES256/ES384/ES512 by curve, EdDSA for Ed25519.
   */
  privateKeyAlg?: string | undefined
  /** Scopes every accepted token must carry. Default none. */
  requiredScopes?: readonly string[] | undefined
  /** Where to find client id, scopes and subject among the answer's members. */
  claims?: ClaimMapping | undefined
  /** Deadline of each HTTP attempt, in milliseconds. Default 5,000. */
  timeout?: number | undefined
  /**
   * Extra attempts after a network error or a 5xx answer without `Retry-After` (0 to 5).
   * Default 1. Timeouts and other failures are not retried.
   */
  retries?: number | undefined
  /** Largest accepted response body (introspection, metadata, JWKS), in bytes. Default 64 KiB. */
  maxResponseBytes?: number | undefined
  /** The result cache, or `false` for none. Default `{ max: 10_000, ttl: 60, negativeTtl: 5 }`. */
  cache?: IntrospectionCacheOptions | false | undefined
  /**
   * A cache shared by a fleet (`@bearerkit/redis`'s `stores.cache`), behind the in-process one:
   * a miss in the first tier asks it before the authorization server, and concurrent first uses
   * of a token across instances make one introspection request (a short lock, then the others
   * read the answer). It holds the authorization server's raw answer under a hash of the token,
   * the endpoint and the client id, for `cache.ttl` (never past `exp`) or `cache.negativeTtl`;
   * every check still runs on every use. It only costs speed: a shared cache that fails, hangs
   * or holds garbage is a miss. Default none.
   */
  sharedCache?: SharedResultCache | undefined
  /** Ask for and require RFC 9701 signed responses. Default `false`. */
  jwtResponse?: boolean | JwtResponseOptions | undefined
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: (() => number) | undefined
  /** The `fetch` to use. Default: the global one. */
  fetch?: typeof fetch | undefined
}

/**
 * A {@link TokenVerifier} backed by an introspection endpoint, with a few extras.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2 RFC 7662 §2
 * @example
 * ```ts
 * await verifier.ready()
 * app.addHook('onClose', () => verifier.close())
 * revocations.on('revoked', () => verifier.clear())
 * ```
 */
export interface IntrospectionVerifier extends TokenVerifier {
  /**
   * Resolves once the endpoint is known (discovery done) and, for RFC 9701 responses with a
   * JWKS, the keys are loaded. Rejects with `VerifierUnavailableError` when that fails; calling
   * it is optional, the first verification does the same work.
   */
  ready(): Promise<void>
  /** Drops every cached answer (after a revocation event, say). */
  clear(): void
  /** Number of cached answers held now (live or not yet evicted). */
  readonly size: number
  /**
   * Aborts requests in flight, drops the cache, and makes every later call reject with
   * `VerifierUnavailableError` (reason `closed`).
   */
  close(): Promise<void>
}

// `createVerifier({ type: 'introspection', ... })` in core takes exactly these options once this
// package's types are loaded: core cannot import them (see VerifierKinds in @bearerkit/core).
declare module '@bearerkit/core' {
  interface VerifierKinds {
    /** {@link IntrospectionVerifierOptions} in, {@link IntrospectionVerifier} out. */
    introspection: { options: IntrospectionVerifierOptions; verifier: IntrospectionVerifier }
  }
}
