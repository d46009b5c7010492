import type { TokenVerifier, VerifierConfig } from '@bearerkit/core'

/**
 * The protected resource (RFC 9728 §2). `url` is the resource identifier: the audience tokens must
 * carry (RFC 8707) and the base of the metadata URL. Every other field is published as the
 * snake_case metadata field of the same name.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-2 RFC 9728 §2
 * @example
 * ```ts
 * const resource = {
 *   url: 'https://mcp.example.com/mcp',
 *   authorizationServers: ['https://login.example.com/'],
 *   scopesSupported: ['mcp:tools', 'mcp:admin'],
 * }
 * ```
 */
export interface ProtectedResourceOptions {
  /** `resource`: absolute https URL (http only for loopback), no query, no fragment. */
  url: string
  /** `authorization_servers`: issuer URLs of the authorization servers (at least one). */
  authorizationServers: readonly string[]
  /** `jwks_uri`: the resource's own signing keys, when it signs responses. */
  jwksUri?: string
  /** `scopes_supported`. */
  scopesSupported?: readonly string[]
  /**
   * `bearer_methods_supported`. Default `['header']`, the only method this plugin accepts; any
   * other value is refused at registration because it would advertise something untrue.
   */
  bearerMethodsSupported?: readonly 'header'[]
  /** `resource_signing_alg_values_supported`. */
  resourceSigningAlgValuesSupported?: readonly string[]
  /** `resource_name`: a human-readable name. */
  resourceName?: string
  /** `resource_documentation`: URL of developer documentation. */
  resourceDocumentation?: string
  /** `resource_policy_uri`. */
  resourcePolicyUri?: string
  /** `resource_tos_uri`. */
  resourceTosUri?: string
  /** `tls_client_certificate_bound_access_tokens` (RFC 8705). */
  tlsClientCertificateBoundAccessTokens?: boolean
  /** `authorization_details_types_supported` (RFC 9396). */
  authorizationDetailsTypesSupported?: readonly string[]
  /** `dpop_signing_alg_values_supported` (RFC 9449). */
  dpopSigningAlgValuesSupported?: readonly string[]
  /** `dpop_bound_access_tokens_required` (RFC 9449). */
  dpopBoundAccessTokensRequired?: boolean
}

/** How the RFC 9728 metadata route is served. */
export interface MetadataRouteOptions {
  /**
   * `Access-Control-Allow-Origin` of the metadata route, so browser-based clients can read it.
   * Default `'*'` (the document is public); an origin string limits it; `false` sends no CORS
   * headers at all.
   */
  allowOrigin?: string | false
}

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
   * The protected resource. With it tokens must name `resource.url` as audience or resource, the
   * metadata route is served and every challenge carries `resource_metadata`.
   */
  resource?: ProtectedResourceOptions
  /**
   * Values of `aud` (or `resource`) that name this resource server. Default: `resource.url` (with
   * and without the trailing slash an origin-only URL gets). `null` switches the check off, which
   * leaves audience checking to the verifier alone.
   *
   * @see https://www.rfc-editor.org/rfc/rfc8707#section-2 RFC 8707 §2
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
}
