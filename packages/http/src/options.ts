import type { RevocationList, TokenVerifier } from '@bearerkit/core'
import type { DpopOptions, MtlsOptions } from './dpop/sender-constraint.js'

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
   * `bearer_methods_supported`. Default `['header']`, the only method bearerkit accepts; any
   * other value is refused because it would advertise something untrue.
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

/** How the RFC 9728 metadata document is served. */
export interface MetadataRouteOptions {
  /**
   * `Access-Control-Allow-Origin` of the metadata answers, so browser-based clients can read the
   * document. Default `'*'` (the document is public); an origin string limits it; `false` sends
   * no CORS headers at all (and no preflight answer).
   */
  allowOrigin?: string | false
}

/**
 * Options of {@link createBearerGate}.
 *
 * @example
 * ```ts
 * const gate = createBearerGate({
 *   verifier,
 *   resource: { url: 'https://api.example.com/mcp', authorizationServers: ['https://login.example.com/'] },
 *   requiredScopes: ['mcp:tools'],
 * })
 * ```
 */
export interface BearerGateOptions {
  /** The verifier that decides every token (see core's `TokenVerifier` contract). */
  verifier: TokenVerifier
  /** Scopes every protected request needs. Default none. */
  requiredScopes?: readonly string[]
  /**
   * The protected resource. With it tokens must name `resource.url` in `aud`, the metadata
   * document is answered and every challenge carries `resource_metadata`.
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
   * Answer the RFC 9728 metadata document (default `true` when `resource` is set). `false` leaves
   * it to you; challenges still point at it.
   */
  metadata?: boolean | MetadataRouteOptions
  /**
   * Send `error_description` in challenges and bodies (default `true`). The descriptions come
   * from the verifier's `Refusal` and never contain the token.
   */
  exposeErrorDescription?: boolean
  /** `Retry-After`, in seconds, of a 503 when the verifier suggests none. Default 5. */
  retryAfter?: number
  /** Largest accepted token, in characters. Default 16 KiB (core's `DEFAULT_MAX_TOKEN_LENGTH`). */
  maxTokenLength?: number
  /**
   * Longest wait for the verifier's answer, in milliseconds (checked every 100 ms). Past it the
   * request is a 503 `verifier_timeout`, never an acceptance, and the verifier's late answer is
   * dropped. bearerkit's own verifiers bound each network call themselves (5 s by default): this
   * is the backstop for a custom verifier, provider or key resolver that never answers.
   * Default 30000.
   */
  verifierTimeout?: number
  /**
   * A revocation list (core's `RevocationList`; `@bearerkit/redis`'s `stores.revocations` for a
   * fleet) every accepted token is looked up in, a verifier's cache hits included: a revoked token
   * is a 401 `invalid_token`, a list that cannot be trusted (too stale) a 503. Default none.
   */
  revocations?: RevocationList
  /**
   * Accept DPoP-bound tokens (RFC 9449): `Authorization: DPoP` with a `DPoP` proof. `true` takes
   * every default. Default: off (a DPoP-bound token is then refused, as every bound token is
   * without its proof).
   *
   * @see https://www.rfc-editor.org/rfc/rfc9449#section-7 RFC 9449 §7
   */
  dpop?: DpopOptions | boolean
  /**
   * Accept certificate-bound tokens (RFC 8705 §3): the adapter passes the TLS client certificate
   * (`GateRequest.clientCertificate`). `true` takes every default. Default: off.
   *
   * @see https://www.rfc-editor.org/rfc/rfc8705#section-3 RFC 8705 §3
   */
  mtls?: MtlsOptions | boolean
}

// Every option of BearerGateOptions, and nothing else: a new option that is not added here is a
// compile error, so the gate and every adapter that builds on this list accept it together.
const OPTIONS: { readonly [K in keyof Required<BearerGateOptions>]: true } = {
  verifier: true,
  requiredScopes: true,
  resource: true,
  audience: true,
  realm: true,
  metadata: true,
  exposeErrorDescription: true,
  retryAfter: true,
  maxTokenLength: true,
  verifierTimeout: true,
  revocations: true,
  dpop: true,
  mtls: true,
}

/**
 * The names of every {@link BearerGateOptions} option. The gate refuses an option it does not
 * know; an adapter with options of its own checks the union of these and its own (and passes
 * these on to {@link createBearerGate}), so that a new gate option is never refused by an adapter.
 *
 * @example
 * ```ts
 * const known = new Set([...GATE_OPTION_NAMES, 'formBodyLimit'])
 * for (const key of Object.keys(options)) {
 *   if (!known.has(key)) throw new TypeError(`options.${key} is not a known option`)
 * }
 * ```
 */
export const GATE_OPTION_NAMES: readonly (keyof BearerGateOptions)[] = Object.freeze(
  Object.keys(OPTIONS) as (keyof BearerGateOptions)[],
)
