import type { RevocationList, TokenVerifier, VerifierConfig } from '@bearerkit/core'
import type {
  DpopOptions,
  MetadataRouteOptions,
  MtlsOptions,
  ProtectedResourceOptions,
} from '@bearerkit/http'

export type {
  DpopOptions,
  MetadataRouteOptions,
  MtlsOptions,
  ProtectedResourceOptions,
} from '@bearerkit/http'

/**
 * Options of the {@link bearerAuth} plugin.
 *
 * @example
 * ```ts
 * await app.register(bearerAuth, {
 *   verifier: { type: 'jwt', issuer: 'https://login.example.com/', audience: 'https://api.example.com/mcp' },
 *   resource: { url: 'https://api.example.com/mcp', authorizationServers: ['https://login.example.com/'] },
 *   requiredScopes: ['mcp:tools'],
 * })
 * ```
 */
export interface BearerAuthOptions {
  /**
   * A {@link TokenVerifier}, or a configuration object for core's `createVerifier` (built once at
   * registration; its `close()`, when it has one, runs when the app closes).
   */
  verifier: TokenVerifier | VerifierConfig
  /** Scopes every protected route needs. Default none. */
  requiredScopes?: readonly string[]
  /**
   * The protected resource. With it tokens must name `resource.url` in `aud`, the metadata route
   * is served and every challenge carries `resource_metadata`.
   */
  resource?: ProtectedResourceOptions
  /**
   * Values of `aud` that name this resource server. Default: `resource.url` (with and without the
   * trailing slash an origin-only URL gets). `null` switches the check off, which leaves audience
   * checking to the verifier alone. No other claim (`resource` included) stands in for `aud`.
   *
   * @see https://www.rfc-editor.org/rfc/rfc8707#section-2 RFC 8707 §2
   * @see https://www.rfc-editor.org/rfc/rfc9068#section-4 RFC 9068 §4
   */
  audience?: string | readonly string[] | null
  /** `realm` of every challenge (printable ASCII). Default: no realm. */
  realm?: string
  /**
   * Serve the RFC 9728 metadata route (default `true` when `resource` is set). `false` leaves it to
   * you, for example through the `protectedResourceMetadata` plugin at the root of the app.
   */
  metadata?: boolean | MetadataRouteOptions
  /**
   * Send `error_description` in challenges and bodies (default `true`). The descriptions come
   * from the verifier's `Refusal` and never contain the token; switch them off to tell clients
   * less about why a token failed.
   */
  exposeErrorDescription?: boolean
  /** `Retry-After`, in seconds, of a 503 when the verifier suggests none. Default 5. */
  retryAfter?: number
  /** Largest accepted token, in characters (see core's `extractBearerToken`). Default 16 KiB. */
  maxTokenLength?: number
  /**
   * Longest wait for the verifier's answer, in milliseconds (checked every 100 ms); then a 503
   * `verifier_timeout`, never an acceptance. A backstop for a custom verifier, provider or key
   * resolver that never answers (bearerkit's own verifiers bound each network call themselves).
   * Default 30000.
   */
  verifierTimeout?: number
  /**
   * A revocation list (`@bearerkit/redis`'s `stores.revocations` for a fleet) every accepted
   * token is looked up in, cache hits included: revoked is a 401, a list too stale to trust a
   * 503 with `Retry-After`. Default none.
   */
  revocations?: RevocationList
  /**
   * Accept DPoP-bound tokens (RFC 9449): `Authorization: DPoP` with a `DPoP` proof header. `true`
   * takes every default. Without `dpop.publicOrigin` the proof's `htu` is compared with
   * `request.protocol`, `request.host` and `request.url`, so Fastify's `trustProxy` decides
   * whether `X-Forwarded-Proto` and `X-Forwarded-Host` count. See @bearerkit/http.
   */
  dpop?: DpopOptions | boolean
  /**
   * Accept certificate-bound tokens (RFC 8705): the certificate of the TLS connection (an https
   * server with `requestCert: true`), or the RFC 9440 `Client-Cert` header from
   * `mtls.trustedProxies`. `true` takes every default. See @bearerkit/http.
   */
  mtls?: MtlsOptions | boolean
}
