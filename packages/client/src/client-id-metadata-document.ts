import {
  invalidArgument,
  readOptionalString,
  readOptionsObject,
  readString,
  rejectUnknownOptions,
  validateUrl,
} from '@bearerkit/core'

/** Options of {@link createClientIdMetadataDocument}. */
export interface ClientIdMetadataDocumentOptions {
  /** The https URL the document is served at; it is the `client_id`. */
  clientId: string
  clientName: string
  redirectUris: readonly string[]
  /** Default `['authorization_code', 'refresh_token']`. */
  grantTypes?: readonly string[]
  /** Default `none` (a public client); `private_key_jwt` needs `jwksUri` or `jwks`. */
  tokenEndpointAuthMethod?: 'none' | 'private_key_jwt'
  jwksUri?: string
  jwks?: { keys: readonly object[] }
  clientUri?: string
  logoUri?: string
  scope?: string
}

/** A Client ID Metadata Document: RFC 7591 §2 client metadata, served at its own `client_id`. */
export interface ClientIdMetadataDocument {
  client_id: string
  client_name: string
  redirect_uris: string[]
  grant_types: string[]
  response_types: string[]
  token_endpoint_auth_method: 'none' | 'private_key_jwt'
  jwks_uri?: string
  jwks?: { keys: readonly object[] }
  client_uri?: string
  logo_uri?: string
  scope?: string
}

const KNOWN = [
  'clientId',
  'clientName',
  'redirectUris',
  'grantTypes',
  'tokenEndpointAuthMethod',
  'jwksUri',
  'jwks',
  'clientUri',
  'logoUri',
  'scope',
]

/**
 * Whether `value` can be a URL-based client id (SEP-991): an https URL with a path other than
 * `/`, without credentials, fragment or dot segments.
 */
export function isClientIdMetadataUrl(value: unknown): value is string {
  if (typeof value !== 'string' || !URL.canParse(value)) return false
  const url = new URL(value)
  return (
    url.protocol === 'https:' &&
    url.pathname !== '/' &&
    url.username === '' &&
    url.password === '' &&
    url.hash === '' &&
    !value.includes('#') &&
    !/\/\.\.?(\/|$)/.test(value.slice(url.origin.length))
  )
}

/**
 * Builds the document a client serves at its `client_id` URL, for authorization servers that
 * advertise `client_id_metadata_document_supported` (the MCP specification's second way to get a
 * client, after a pre-registered one). The server fetches it and checks that its `client_id`
 * equals the URL it was fetched from; serve it as `application/json`.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the option at fault.
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/ OAuth Client ID Metadata Document
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2 RFC 7591 §2
 * @example
 * ```ts
 * const document = createClientIdMetadataDocument({
 *   clientId: 'https://app.example.com/oauth/client.json',
 *   clientName: 'Example MCP client',
 *   redirectUris: ['http://127.0.0.1:8976/callback'],
 * })
 * ```
 */
export function createClientIdMetadataDocument(
  options: ClientIdMetadataDocumentOptions,
): ClientIdMetadataDocument {
  const input = readOptionsObject('options', options)
  rejectUnknownOptions('options', input, KNOWN)
  if (!isClientIdMetadataUrl(input.clientId)) {
    throw invalidArgument('options.clientId', 'must be an https URL with a path (SEP-991)')
  }
  const clientName = readString('options.clientName', input.clientName)
  const redirectUris = stringList('options.redirectUris', input.redirectUris)
  redirectUris.forEach((uri, i) => validateUrl(`options.redirectUris[${i}]`, uri))
  const grantTypes =
    input.grantTypes === undefined
      ? ['authorization_code', 'refresh_token']
      : stringList('options.grantTypes', input.grantTypes)
  const method = input.tokenEndpointAuthMethod ?? 'none'
  if (method !== 'none' && method !== 'private_key_jwt') {
    throw invalidArgument(
      'options.tokenEndpointAuthMethod',
      'must be none or private_key_jwt (a document cannot hold a secret)',
    )
  }
  const jwksUri = readOptionalString('options.jwksUri', input.jwksUri)
  if (jwksUri !== undefined) validateUrl('options.jwksUri', jwksUri)
  const jwks = input.jwks as { keys: readonly object[] } | undefined
  if (
    jwks !== undefined &&
    !(typeof jwks === 'object' && jwks !== null && Array.isArray(jwks.keys))
  ) {
    throw invalidArgument('options.jwks', 'must be a JWK Set ({ keys: [...] })')
  }
  if (method === 'private_key_jwt' && jwksUri === undefined && jwks === undefined) {
    throw invalidArgument('options.jwksUri', 'or options.jwks is required for private_key_jwt')
  }
  const clientUri = readOptionalString('options.clientUri', input.clientUri)
  const logoUri = readOptionalString('options.logoUri', input.logoUri)
  const scope = readOptionalString('options.scope', input.scope)
  return {
    client_id: input.clientId,
    client_name: clientName,
    redirect_uris: redirectUris,
    grant_types: grantTypes,
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: method,
    ...(jwksUri === undefined ? {} : { jwks_uri: jwksUri }),
    ...(jwks === undefined ? {} : { jwks }),
    ...(clientUri === undefined
      ? {}
      : { client_uri: validateUrl('options.clientUri', clientUri).href }),
    ...(logoUri === undefined ? {} : { logo_uri: validateUrl('options.logoUri', logoUri).href }),
    ...(scope === undefined ? {} : { scope }),
  }
}

function stringList(option: string, value: unknown): string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((item) => typeof item === 'string' && item !== '')
  ) {
    throw invalidArgument(option, 'must be a non-empty array of non-empty strings')
  }
  return [...(value as string[])]
}
