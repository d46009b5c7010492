import { isScopeToken } from '@bearerkit/core'
import { RegistrationError } from '../oauth-errors.js'
import type { OAuthClientInformation } from '../protocol.js'
import { isAcceptableRedirectUri } from './redirect-uris.js'
import { JWT_BEARER_GRANT_TYPE } from '../token-request.js'

// Bounds on what one registration may store. Dynamic registration is open to anyone (RFC 7591
// §3), so without them a single request could fill the server's memory.
/** Most redirect URIs one client may register. */
export const MAX_REDIRECT_URIS = 20
/** Longest URI member (`client_uri`, `logo_uri` ...), in characters. */
export const MAX_URI_LENGTH = 2000
/** Longest other string member (`client_name`, `software_id` ...), in characters. */
export const MAX_STRING_LENGTH = 1000
/** Most `contacts`. */
export const MAX_CONTACTS = 10
/** Largest registration as JSON, unknown members included, in bytes. */
export const MAX_METADATA_BYTES = 32 * 1024

const AUTH_METHODS = new Set(['none', 'client_secret_basic', 'client_secret_post'])
const GRANT_TYPES = new Set(['authorization_code', 'refresh_token', JWT_BEARER_GRANT_TYPE])
// RFC 7591 §2: members whose value is a URL that a server may show or fetch.
const URI_MEMBERS = ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri', 'jwks_uri'] as const
const STRING_MEMBERS = ['client_name', 'software_id', 'software_version'] as const
// RFC 7591 §3.2.1: seconds since the epoch.
const TIME_MEMBERS = ['client_id_issued_at', 'client_secret_expires_at'] as const

// RFC 7591 §5: URLs in metadata are shown to users or fetched; only https (http on a loopback
// IP, for development) without credentials. `javascript:` and `data:` are refused.
function isAcceptableMetadataUri(value: unknown): boolean {
  if (typeof value !== 'string' || value.length > MAX_URI_LENGTH || value.includes('\\')) {
    return false
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  if (url.username !== '' || url.password !== '') return false
  return (
    url.protocol === 'https:' ||
    (url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === '[::1]'))
  )
}

function serializedSize(info: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(info))
  } catch {
    // Cycles and BigInts cannot be stored as a registration document.
    return Number.POSITIVE_INFINITY
  }
}

/**
 * Checks RFC 7591 §2 client metadata before it is stored, and answers a copy. Refuses with
 * `invalid_redirect_uri` or `invalid_client_metadata` (RFC 7591 §3.2.2).
 */
export function checkClient(
  info: OAuthClientInformation,
  clients: ReadonlyMap<string, OAuthClientInformation>,
  knownScopes: ReadonlySet<string> | null,
): OAuthClientInformation {
  const bad = (description: string): RegistrationError =>
    new RegistrationError('invalid_client_metadata', description)
  if (typeof info !== 'object' || info === null) throw bad('client information is not an object')
  if (serializedSize(info) > MAX_METADATA_BYTES) {
    throw bad(`client metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`)
  }
  if (
    typeof info.client_id !== 'string' ||
    info.client_id === '' ||
    info.client_id.length > MAX_STRING_LENGTH
  ) {
    throw bad('client_id must be a non-empty string')
  }
  if (clients.has(info.client_id)) throw bad('client_id is already registered')
  const uris = info.redirect_uris
  if (!Array.isArray(uris) || uris.length === 0) {
    throw new RegistrationError('invalid_redirect_uri', 'redirect_uris must be a non-empty array')
  }
  if (uris.length > MAX_REDIRECT_URIS) {
    throw new RegistrationError(
      'invalid_redirect_uri',
      `redirect_uris may hold at most ${MAX_REDIRECT_URIS} URIs`,
    )
  }
  if (!uris.every(isAcceptableRedirectUri)) {
    throw new RegistrationError(
      'invalid_redirect_uri',
      'redirect_uris must use https, http on a loopback IP, or a private-use scheme, without a fragment, userinfo or backslash',
    )
  }
  // RFC 7591 §2: client_secret_basic is the default.
  const method = info.token_endpoint_auth_method ?? 'client_secret_basic'
  if (!AUTH_METHODS.has(method)) throw bad('token_endpoint_auth_method is not supported')
  const hasSecret = typeof info.client_secret === 'string' && info.client_secret !== ''
  if (method === 'none' && info.client_secret !== undefined) {
    throw bad('a public client (token_endpoint_auth_method none) has no client_secret')
  }
  if (method !== 'none' && !hasSecret) throw bad(`${method} needs a client_secret`)
  if (hasSecret && (info.client_secret as string).length > MAX_STRING_LENGTH) {
    throw bad('client_secret is too long')
  }
  if (
    info.grant_types !== undefined &&
    (!Array.isArray(info.grant_types) || !info.grant_types.every((g) => GRANT_TYPES.has(g)))
  ) {
    throw bad('grant_types names an unsupported grant type')
  }
  if (
    info.response_types !== undefined &&
    (!Array.isArray(info.response_types) || !info.response_types.every((r) => r === 'code'))
  ) {
    throw bad('response_types must be ["code"]')
  }
  if (info.scope !== undefined) {
    const scopes =
      typeof info.scope === 'string' && info.scope.length <= MAX_STRING_LENGTH
        ? info.scope.split(' ')
        : null
    if (scopes === null || !scopes.every(isScopeToken)) throw bad('scope is malformed')
    if (knownScopes !== null && !scopes.every((s) => knownScopes.has(s))) {
      throw bad('scope names an unknown scope')
    }
  }
  // RFC 7591 §2.2: a human-readable member may come in several languages, `logo_uri#en`; each
  // such member is shown and followed like the bare one, so it gets the same checks.
  const tagged = Object.keys(info).filter((key) => key.includes('#'))
  const variants = (name: string): string[] => [
    name,
    ...tagged.filter((key) => key.slice(0, key.indexOf('#')) === name),
  ]
  for (const name of URI_MEMBERS.flatMap(variants)) {
    if (info[name] !== undefined && !isAcceptableMetadataUri(info[name])) {
      throw bad(`${name} must be an https URL without credentials`)
    }
  }
  for (const name of STRING_MEMBERS.flatMap(variants)) {
    const value = info[name]
    if (value !== undefined && (typeof value !== 'string' || value.length > MAX_STRING_LENGTH)) {
      throw bad(`${name} must be a string of at most ${MAX_STRING_LENGTH} characters`)
    }
  }
  for (const name of TIME_MEMBERS) {
    const value = info[name]
    // A string or NaN would compare false against the clock, and a secret would never expire.
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw bad(`${name} must be an integer number of seconds since the epoch`)
    }
  }
  const contacts = info.contacts
  if (
    contacts !== undefined &&
    (!Array.isArray(contacts) ||
      contacts.length > MAX_CONTACTS ||
      !contacts.every((c) => typeof c === 'string' && c.length <= MAX_STRING_LENGTH))
  ) {
    throw bad(`contacts must be an array of at most ${MAX_CONTACTS} strings`)
  }
  return structuredClone(info)
}
