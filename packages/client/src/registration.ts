import { invalidArgument, isOptionsObject, readString } from '@bearerkit/core'
import type { AuthorizationServerMetadata } from './authorization-server.js'
import { isClientIdMetadataUrl } from './client-id-metadata-document.js'
import {
  readClientInformation,
  type ClientAuthMethod,
  type OAuthClientInformation,
} from './client-information.js'
import { OAuthClientError } from './errors.js'
import { jsonObject, send, statusError } from './lib/http.js'
import { readRequestOptions } from './lib/options.js'
import { redacted } from './lib/redact.js'
import { serverUrl } from './lib/urls.js'
import type { RequestOptions } from './request-options.js'

/** Client metadata sent to a registration endpoint (RFC 7591 §2), snake_case as on the wire. */
export interface ClientRegistrationMetadata {
  redirect_uris?: string[]
  client_name?: string
  grant_types?: string[]
  response_types?: string[]
  token_endpoint_auth_method?: ClientAuthMethod
  scope?: string
  [field: string]: unknown
}

/** A client the authorization server registered (RFC 7591 §3.2.1). */
export interface RegisteredClient {
  client: Readonly<OAuthClientInformation>
  /** The server's whole registration response (it holds the secret, if any: keep it safe). */
  response: Readonly<Record<string, unknown>>
}

const WHAT = 'Client registration request'

/**
 * Dynamic client registration (RFC 7591 §3): POSTs the metadata as JSON to the server's
 * `registration_endpoint`. The answer must be 201 (200 is tolerated, as some servers send it) with
 * a JSON object holding a string `client_id`; an error answer carries the server's error JSON
 * (`invalid_redirect_uri`, `invalid_client_metadata` ...) intact.
 *
 * @throws {@link OAuthClientError} `ERR_UNSUPPORTED_BY_SERVER` without a registration endpoint,
 *   `ERR_OAUTH_ERROR_RESPONSE`, `ERR_INVALID_RESPONSE`, request errors.
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-3 RFC 7591 §3
 * @example
 * ```ts
 * const { client } = await registerClient(metadata, {
 *   client_name: 'Example', redirect_uris: ['http://127.0.0.1:8976/callback'],
 *   grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'none',
 * })
 * ```
 */
export async function registerClient(
  server: Readonly<AuthorizationServerMetadata>,
  metadata: ClientRegistrationMetadata,
  options: RequestOptions = {},
): Promise<RegisteredClient> {
  const { request } = readRequestOptions('options', options, [])
  if (!isOptionsObject(server))
    throw invalidArgument('server', 'must be authorization server metadata')
  if (!isOptionsObject(metadata))
    throw invalidArgument('metadata', 'must be client metadata (RFC 7591 §2)')
  const issuer = readString('server.issuer', server.issuer)
  if (server.registration_endpoint === undefined) {
    throw new OAuthClientError(
      'ERR_UNSUPPORTED_BY_SERVER',
      `The authorization server ${issuer} has no registration_endpoint`,
    )
  }
  const endpoint = serverUrl(
    'registration_endpoint',
    server.registration_endpoint,
    'Authorization server metadata',
  )
  const response = await send(endpoint, WHAT, {
    ...request,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(metadata),
  })
  if (response.status !== 201 && response.status !== 200)
    throw statusError(response, WHAT, endpoint)
  const document = jsonObject(response, WHAT, endpoint)
  const clientId = document.client_id
  const secret = document.client_secret
  const method = document.token_endpoint_auth_method ?? metadata.token_endpoint_auth_method
  if (
    typeof clientId !== 'string' ||
    clientId === '' ||
    (secret !== undefined && (typeof secret !== 'string' || secret === '')) ||
    (method !== undefined && typeof method !== 'string')
  ) {
    throw new OAuthClientError(
      'ERR_INVALID_RESPONSE',
      `${WHAT}: client_id (and client_secret) must be non-empty strings`,
      {
        url: endpoint.href,
        status: response.status,
      },
    )
  }
  let client: Readonly<OAuthClientInformation>
  try {
    client = readClientInformation('registration', {
      clientId,
      ...(secret === undefined ? {} : { clientSecret: secret }),
      ...(method === undefined || method === 'private_key_jwt' ? {} : { authMethod: method }),
      issuer,
    })
  } catch (cause) {
    throw new OAuthClientError(
      'ERR_INVALID_RESPONSE',
      `${WHAT}: the server registered a client this library cannot use`,
      {
        cause,
        url: endpoint.href,
        status: response.status,
      },
    )
  }
  return Object.freeze({
    client,
    response: Object.freeze(
      redacted({ ...document }, ['client_secret', 'registration_access_token']),
    ),
  })
}

/** The ways a client can come to exist at an authorization server, in the MCP priority order. */
export type RegistrationMethod = 'pre-registered' | 'client-id-metadata-document' | 'dynamic'

/** Options of {@link obtainClient}. */
export interface ObtainClientOptions extends RequestOptions {
  /** 1. A pre-registered client; one with an `issuer` is used only for that issuer. */
  client?: OAuthClientInformation | undefined
  /** 2. The https URL of the client's metadata document, used as `client_id` (SEP-991). */
  clientMetadataUrl?: string | undefined
  /** 3. Metadata for dynamic registration (RFC 7591). */
  clientMetadata?: ClientRegistrationMetadata | undefined
}

/** What {@link obtainClient} chose. */
export interface ObtainedClient {
  method: RegistrationMethod
  client: Readonly<OAuthClientInformation>
  /** The registration response, for `dynamic`. */
  registration: Readonly<Record<string, unknown>> | undefined
}

/**
 * Chooses how to have a client at an authorization server, in the MCP specification's priority
 * order: 1. a pre-registered client (for this issuer, or for any when it names none); 2. a Client
 * ID Metadata Document, when the server advertises `client_id_metadata_document_supported` and a
 * `clientMetadataUrl` is given; 3. dynamic registration, when the server has a
 * `registration_endpoint` and `clientMetadata` is given; 4. otherwise `ERR_CLIENT_REQUIRED`,
 * asking the host to supply a client.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#client-registration-approaches MCP client registration
 * @example
 * ```ts
 * const { method, client } = await obtainClient(metadata, { clientMetadataUrl, clientMetadata })
 * ```
 */
export async function obtainClient(
  server: Readonly<AuthorizationServerMetadata>,
  options: ObtainClientOptions,
): Promise<ObtainedClient> {
  const { request, rest } = readRequestOptions('options', options, [
    'client',
    'clientMetadataUrl',
    'clientMetadata',
  ])
  if (!isOptionsObject(server))
    throw invalidArgument('server', 'must be authorization server metadata')
  const issuer = readString('server.issuer', server.issuer)
  if (rest.client !== undefined) {
    const client = readClientInformation('options.client', rest.client)
    if (client.issuer === undefined || client.issuer === issuer) {
      return Object.freeze({ method: 'pre-registered', client, registration: undefined })
    }
  }
  if (rest.clientMetadataUrl !== undefined && !isClientIdMetadataUrl(rest.clientMetadataUrl)) {
    throw invalidArgument('options.clientMetadataUrl', 'must be an https URL with a path (SEP-991)')
  }
  if (
    rest.clientMetadataUrl !== undefined &&
    server.client_id_metadata_document_supported === true
  ) {
    return Object.freeze({
      method: 'client-id-metadata-document',
      client: Object.freeze({ clientId: rest.clientMetadataUrl, authMethod: 'none', issuer }),
      registration: undefined,
    })
  }
  if (rest.clientMetadata !== undefined && server.registration_endpoint !== undefined) {
    const { client, response } = await registerClient(
      server,
      rest.clientMetadata as ClientRegistrationMetadata,
      request,
    )
    return Object.freeze({ method: 'dynamic', client, registration: response })
  }
  throw new OAuthClientError(
    'ERR_CLIENT_REQUIRED',
    `No client for the authorization server ${issuer}: it offers neither a Client ID Metadata Document nor dynamic registration that this host can use; supply a pre-registered client`,
  )
}
