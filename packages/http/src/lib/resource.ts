import { invalidArgument, isScopeToken, validateUrl } from '@bearerkit/core'

/** The well-known URI suffix of protected resource metadata (RFC 9728 §3). */
export const WELL_KNOWN_PATH = '/.well-known/oauth-protected-resource'

/** A validated `ProtectedResourceOptions`. */
export interface ResolvedResource {
  /** The resource identifier exactly as configured. */
  readonly url: string
  /** Absolute URL of the metadata document. */
  readonly metadataUrl: string
  /** Local path of the metadata route. */
  readonly metadataPath: string
  /** The RFC 9728 metadata document. */
  readonly document: Readonly<Record<string, unknown>>
}

/** Validates a resource identifier (RFC 8707 §2, RFC 9728 §1.2) and returns it parsed. */
export function parseResourceUrl(option: string, value: unknown): URL {
  if (typeof value !== 'string') throw invalidArgument(option, 'must be a URL string')
  if (value.includes('#')) {
    // RFC 8707 §2: the resource indicator MUST NOT include a fragment (an empty one included).
    throw invalidArgument(option, 'must not contain a fragment')
  }
  const url = validateUrl(option, value)
  if (value.includes('?')) {
    // RFC 8707 §2 says SHOULD NOT; refusing a query keeps the metadata URL unambiguous.
    throw invalidArgument(option, 'must not contain a query')
  }
  return url
}

/** RFC 9728 §3.1: the well-known segment goes between the host and the resource's path. */
export function metadataPath(url: URL): string {
  return url.pathname === '/' ? WELL_KNOWN_PATH : WELL_KNOWN_PATH + url.pathname
}

const KNOWN = new Set<string>([
  'url',
  'authorizationServers',
  'jwksUri',
  'scopesSupported',
  'bearerMethodsSupported',
  'resourceSigningAlgValuesSupported',
  'resourceName',
  'resourceDocumentation',
  'resourcePolicyUri',
  'resourceTosUri',
  'tlsClientCertificateBoundAccessTokens',
  'authorizationDetailsTypesSupported',
  'dpopSigningAlgValuesSupported',
  'dpopBoundAccessTokensRequired',
])

/**
 * Validates the resource options and builds the metadata document, fields in RFC 9728 §2 order.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the field at fault.
 */
export function resolveResource(option: string, value: unknown): ResolvedResource {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(option, 'must be an object with url and authorizationServers')
  }
  const input = value as Record<string, unknown>
  for (const key of Object.keys(input)) {
    // A misspelt field would silently drop out of the metadata: refuse it.
    if (!KNOWN.has(key)) throw invalidArgument(`${option}.${key}`, 'is not a known resource field')
  }
  const parsed = parseResourceUrl(`${option}.url`, input.url)
  const url = input.url as string
  const document: Record<string, unknown> = { resource: url }

  const servers = input.authorizationServers
  if (!Array.isArray(servers) || servers.length === 0) {
    throw invalidArgument(
      `${option}.authorizationServers`,
      'must be a non-empty array of authorization server issuer URLs',
    )
  }
  servers.forEach((server, i) => validateUrl(`${option}.authorizationServers[${i}]`, server))
  document.authorization_servers = [...new Set(servers as string[])]

  const optionalUrl = (key: string, field: string): void => {
    if (input[key] === undefined) return
    validateUrl(`${option}.${key}`, input[key])
    document[field] = input[key]
  }
  const stringList = (key: string, field: string): void => {
    const list = input[key]
    if (list === undefined) return
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s !== '')) {
      throw invalidArgument(`${option}.${key}`, 'must be an array of non-empty strings')
    }
    document[field] = [...new Set(list as string[])]
  }
  const flag = (key: string, field: string): void => {
    if (input[key] === undefined) return
    if (typeof input[key] !== 'boolean')
      throw invalidArgument(`${option}.${key}`, 'must be a boolean')
    document[field] = input[key]
  }

  optionalUrl('jwksUri', 'jwks_uri')
  if (input.scopesSupported !== undefined) {
    const scopes = input.scopesSupported
    if (!Array.isArray(scopes) || !scopes.every(isScopeToken)) {
      throw invalidArgument(`${option}.scopesSupported`, 'must be an array of scope tokens')
    }
    document.scopes_supported = [...new Set(scopes)]
  }
  const methods = input.bearerMethodsSupported ?? ['header']
  if (!Array.isArray(methods) || !methods.every((m) => m === 'header')) {
    // RFC 9728 §2 defines header, body and query; bearerkit accepts only the header (the MCP
    // authorization spec forbids query tokens), so publishing others would be untrue.
    throw invalidArgument(
      `${option}.bearerMethodsSupported`,
      'must be ["header"]: tokens are accepted only in the Authorization header',
    )
  }
  document.bearer_methods_supported = [...new Set(methods)]
  stringList('resourceSigningAlgValuesSupported', 'resource_signing_alg_values_supported')
  if (input.resourceName !== undefined) {
    if (typeof input.resourceName !== 'string' || input.resourceName === '') {
      throw invalidArgument(`${option}.resourceName`, 'must be a non-empty string')
    }
    document.resource_name = input.resourceName
  }
  optionalUrl('resourceDocumentation', 'resource_documentation')
  optionalUrl('resourcePolicyUri', 'resource_policy_uri')
  optionalUrl('resourceTosUri', 'resource_tos_uri')
  flag('tlsClientCertificateBoundAccessTokens', 'tls_client_certificate_bound_access_tokens')
  stringList('authorizationDetailsTypesSupported', 'authorization_details_types_supported')
  stringList('dpopSigningAlgValuesSupported', 'dpop_signing_alg_values_supported')
  flag('dpopBoundAccessTokensRequired', 'dpop_bound_access_tokens_required')

  const path = metadataPath(parsed)
  return Object.freeze({
    url,
    metadataUrl: parsed.origin + path,
    metadataPath: path,
    document: Object.freeze(document),
  })
}
