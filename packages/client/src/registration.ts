import { KeyObject, createPublicKey, type webcrypto } from 'node:crypto'
import { invalidArgument, isOptionsObject, readString } from '@bearerkit/core'
import type { AuthorizationServerMetadata } from './authorization-server.js'
import { isClientIdMetadataUrl } from './client-id-metadata-document.js'
import {
  readClientInformation,
  readClientKey,
  type ClientAuthMethod,
  type ClientKey,
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

/** Options of {@link registerClient}. */
export interface RegisterClientOptions extends RequestOptions {
  /**
   * For `private_key_jwt`: the private key whose public half the metadata registers (`jwks` or
   * `jwks_uri`). Required when the metadata asks for `private_key_jwt`.
   */
  clientKey?: ClientKey | undefined
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
 * The client's `authMethod` is the `token_endpoint_auth_method` the server registered (else the
 * one asked for). For `private_key_jwt` (RFC 7523 §2.2) give `clientKey`: the returned client
 * then signs its assertions with it. Before anything is sent, the key must be an EC private key,
 * it is required when the metadata asks for `private_key_jwt` and refused with another method,
 * and when the metadata carries `jwks` its public half must be one of them (the `kid` of that
 * JWK is the default `keyId`). A `jwks_uri` is not fetched, so not checked.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for a missing, unusable or unregistered key.
 * @throws {@link OAuthClientError} `ERR_UNSUPPORTED_BY_SERVER` without a registration endpoint,
 *   `ERR_CLIENT_KEY_REQUIRED` when the server registered `private_key_jwt` and no `clientKey` was
 *   given, `ERR_OAUTH_ERROR_RESPONSE`, `ERR_INVALID_RESPONSE`, request errors.
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-3 RFC 7591 §3
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2 RFC 7523 §2.2 (private_key_jwt)
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
  options: RegisterClientOptions = {},
): Promise<RegisteredClient> {
  const { request, rest } = readRequestOptions('options', options, ['clientKey'])
  if (!isOptionsObject(server))
    throw invalidArgument('server', 'must be authorization server metadata')
  if (!isOptionsObject(metadata))
    throw invalidArgument('metadata', 'must be client metadata (RFC 7591 §2)')
  const key = registrationKey(
    metadata,
    rest.clientKey === undefined ? undefined : readClientKey('options.clientKey', rest.clientKey),
    'metadata',
    'options.clientKey',
  )
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
    issuer,
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
  if (method === 'private_key_jwt' && key === undefined) {
    // Without the key the client could only present itself as a public client, which the server
    // refuses (or, worse, a server that accepts it is not the one the metadata described).
    throw new OAuthClientError(
      'ERR_CLIENT_KEY_REQUIRED',
      `${WHAT}: the server registered the client for private_key_jwt; give the clientKey whose public half the metadata registers`,
      { url: endpoint.href, status: response.status },
    )
  }
  let client: Readonly<OAuthClientInformation>
  try {
    client = readClientInformation('registration', {
      clientId,
      ...(secret === undefined ? {} : { clientSecret: secret }),
      ...(method === undefined ? {} : { authMethod: method }),
      ...(method === 'private_key_jwt' ? key : {}),
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

/**
 * Checks the key of a registration against its metadata before anything is sent, and returns it
 * with its `keyId` defaulted to the `kid` of the matching JWK.
 */
export function registrationKey(
  metadata: Record<string, unknown>,
  key: Readonly<ClientKey> | undefined,
  metadataOption: string,
  keyOption: string,
): Readonly<ClientKey> | undefined {
  const method = metadata.token_endpoint_auth_method
  if (key === undefined) {
    if (method === 'private_key_jwt') {
      throw invalidArgument(
        keyOption,
        `is required when ${metadataOption}.token_endpoint_auth_method is private_key_jwt (RFC 7523 §2.2)`,
      )
    }
    return undefined
  }
  if (method !== undefined && method !== 'private_key_jwt') {
    throw invalidArgument(
      keyOption,
      `is only for ${metadataOption}.token_endpoint_auth_method private_key_jwt`,
    )
  }
  if (metadata.jwks === undefined) return key
  const own = publicJwk(key.privateKey)
  const keys = isOptionsObject(metadata.jwks) ? metadata.jwks.keys : undefined
  const match = (Array.isArray(keys) ? keys : []).find(
    (jwk): jwk is Record<string, unknown> =>
      isOptionsObject(jwk) &&
      jwk.kty === 'EC' &&
      jwk.use !== 'enc' &&
      jwk.crv === own.crv &&
      jwk.x === own.x &&
      jwk.y === own.y,
  )
  if (match === undefined) {
    // The server would register keys the client cannot sign for: every token request would fail
    // as invalid_client, long after the registration that caused it.
    throw invalidArgument(
      `${keyOption}.privateKey`,
      `must be the private half of a signing key in ${metadataOption}.jwks`,
    )
  }
  if (key.keyId !== undefined || typeof match.kid !== 'string' || match.kid === '') return key
  return Object.freeze(redacted({ ...key, keyId: match.kid }, ['privateKey']))
}

function publicJwk(key: KeyObject | webcrypto.CryptoKey): Record<string, unknown> {
  const object = key instanceof KeyObject ? key : KeyObject.from(key)
  return createPublicKey(object).export({ format: 'jwk' })
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
  /** The key of a client registered for `private_key_jwt` (see {@link registerClient}). */
  clientKey?: ClientKey | undefined
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
    'clientKey',
  ])
  if (!isOptionsObject(server))
    throw invalidArgument('server', 'must be authorization server metadata')
  const issuer = readString('server.issuer', server.issuer)
  const clientKey = readRegistrationKey(rest.clientMetadata, rest.clientKey)
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
      { ...request, ...(clientKey === undefined ? {} : { clientKey }) },
    )
    return Object.freeze({ method: 'dynamic', client, registration: response })
  }
  throw new OAuthClientError(
    'ERR_CLIENT_REQUIRED',
    `No client for the authorization server ${issuer}: it offers neither a Client ID Metadata Document nor dynamic registration that this host can use; supply a pre-registered client`,
  )
}

/**
 * Reads the `clientKey` option of `obtainClient` and `createOAuthSession` against their
 * `clientMetadata`. A key without registration metadata is refused rather than ignored: it is not
 * used for a pre-registered client (whose own information holds its key) nor for a Client ID
 * Metadata Document.
 */
export function readRegistrationKey(
  metadata: unknown,
  value: unknown,
): Readonly<ClientKey> | undefined {
  const key = value === undefined ? undefined : readClientKey('options.clientKey', value)
  if (metadata === undefined) {
    if (key !== undefined) {
      throw invalidArgument('options.clientKey', 'is only used with options.clientMetadata')
    }
    return undefined
  }
  // Metadata that is not an object is the registration's to refuse (as it always was).
  if (!isOptionsObject(metadata)) return key
  return registrationKey(metadata, key, 'options.clientMetadata', 'options.clientKey')
}
