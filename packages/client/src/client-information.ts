import type { KeyObject, webcrypto } from 'node:crypto'
import { redacted } from './lib/redact.js'
import {
  invalidArgument,
  readOptionalString,
  readOptionsObject,
  readString,
  rejectUnknownOptions,
} from '@bearerkit/core'

/**
 * How the client authenticates at the token endpoint.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1 RFC 6749 §2.3.1
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2 RFC 7523 §2.2 (private_key_jwt)
 */
export type ClientAuthMethod =
  'client_secret_basic' | 'client_secret_post' | 'none' | 'private_key_jwt'

/**
 * A client as the token endpoint knows it: its id and how it proves it.
 *
 * @example
 * ```ts
 * const client: OAuthClientInformation = { clientId: 'svc', clientSecret: process.env.SECRET }
 * ```
 */
export interface OAuthClientInformation {
  clientId: string
  /** For `client_secret_basic` and `client_secret_post`. */
  clientSecret?: string | undefined
  /**
   * Default: `private_key_jwt` with a `privateKey`; with a secret, `client_secret_basic` unless
   * the server advertises only `client_secret_post`; otherwise `none`.
   */
  authMethod?: ClientAuthMethod | undefined
  /** For `private_key_jwt`: an EC private key (P-256, P-384 or P-521). */
  privateKey?: KeyObject | webcrypto.CryptoKey | undefined
  /** `kid` of the assertion header, when the server needs it to pick the key. */
  keyId?: string | undefined
  /**
   * `aud` of a client assertion: the issuer identifier (default, as RFC 7523bis requires and the
   * MCP and OpenID Connect profiles accept) or the token endpoint URL (RFC 7523 §3 allows it).
   */
  assertionAudience?: 'issuer' | 'token_endpoint' | undefined
  /** The issuer the client is registered with; it is never presented to another one. */
  issuer?: string | undefined
}

const KNOWN = [
  'clientId',
  'clientSecret',
  'authMethod',
  'privateKey',
  'keyId',
  'assertionAudience',
  'issuer',
]
const METHODS: readonly string[] = [
  'client_secret_basic',
  'client_secret_post',
  'none',
  'private_key_jwt',
]

/** Checks client information once, up front, and returns a frozen copy. */
export function readClientInformation(
  option: string,
  value: unknown,
): Readonly<OAuthClientInformation> {
  const input = readOptionsObject(option, value)
  rejectUnknownOptions(option, input, KNOWN)
  const clientId = readString(`${option}.clientId`, input.clientId)
  const clientSecret = readOptionalString(`${option}.clientSecret`, input.clientSecret)
  const keyId = readOptionalString(`${option}.keyId`, input.keyId)
  const issuer = readOptionalString(`${option}.issuer`, input.issuer)
  const authMethod = input.authMethod
  if (authMethod !== undefined && !METHODS.includes(authMethod as string)) {
    throw invalidArgument(`${option}.authMethod`, `must be one of ${METHODS.join(', ')}`)
  }
  const audience = input.assertionAudience as 'issuer' | 'token_endpoint' | undefined
  if (audience !== undefined && audience !== 'issuer' && audience !== 'token_endpoint') {
    throw invalidArgument(`${option}.assertionAudience`, 'must be issuer or token_endpoint')
  }
  const privateKey = input.privateKey
  if (privateKey !== undefined && !isPrivateEcKey(privateKey)) {
    throw invalidArgument(
      `${option}.privateKey`,
      'must be an EC private KeyObject or webcrypto.CryptoKey',
    )
  }
  if (
    (authMethod === 'client_secret_basic' || authMethod === 'client_secret_post') &&
    clientSecret === undefined
  ) {
    throw invalidArgument(`${option}.clientSecret`, `is required for ${authMethod as string}`)
  }
  if (authMethod === 'private_key_jwt' && privateKey === undefined) {
    throw invalidArgument(`${option}.privateKey`, 'is required for private_key_jwt')
  }
  return Object.freeze(
    redacted(
      {
        clientId,
        ...(clientSecret === undefined ? {} : { clientSecret }),
        ...(authMethod === undefined ? {} : { authMethod: authMethod as ClientAuthMethod }),
        ...(privateKey === undefined
          ? {}
          : { privateKey: privateKey as KeyObject | webcrypto.CryptoKey }),
        ...(keyId === undefined ? {} : { keyId }),
        ...(audience === undefined ? {} : { assertionAudience: audience }),
        ...(issuer === undefined ? {} : { issuer }),
      },
      ['clientSecret', 'privateKey'],
    ),
  )
}

/**
 * The key a client registers for `private_key_jwt` (RFC 7523 §2.2) and signs its assertions with:
 * given to `registerClient` (and `obtainClient`, `createOAuthSession`) so that the client the
 * server registers can authenticate, as its metadata (`jwks` or `jwks_uri`) says it will.
 *
 * @example
 * ```ts
 * const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
 * const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig' }
 * await registerClient(server, { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] } },
 *   { clientKey: { privateKey } })
 * ```
 */
export interface ClientKey {
  /** An EC private key (P-256, P-384 or P-521). */
  privateKey: KeyObject | webcrypto.CryptoKey
  /** `kid` of the assertion header. Default: the `kid` of the matching key in the sent `jwks`. */
  keyId?: string | undefined
  /** `aud` of the assertions, as in {@link OAuthClientInformation.assertionAudience}. */
  assertionAudience?: 'issuer' | 'token_endpoint' | undefined
}

/** Checks a {@link ClientKey} once, up front, and returns a frozen, redacted copy. */
export function readClientKey(option: string, value: unknown): Readonly<ClientKey> {
  const input = readOptionsObject(option, value)
  rejectUnknownOptions(option, input, ['privateKey', 'keyId', 'assertionAudience'])
  const keyId = readOptionalString(`${option}.keyId`, input.keyId)
  const audience = input.assertionAudience as 'issuer' | 'token_endpoint' | undefined
  if (audience !== undefined && audience !== 'issuer' && audience !== 'token_endpoint') {
    throw invalidArgument(`${option}.assertionAudience`, 'must be issuer or token_endpoint')
  }
  if (!isPrivateEcKey(input.privateKey)) {
    throw invalidArgument(
      `${option}.privateKey`,
      'must be an EC private KeyObject or webcrypto.CryptoKey',
    )
  }
  return Object.freeze(
    redacted(
      {
        privateKey: input.privateKey as KeyObject | webcrypto.CryptoKey,
        ...(keyId === undefined ? {} : { keyId }),
        ...(audience === undefined ? {} : { assertionAudience: audience }),
      },
      ['privateKey'],
    ),
  )
}

function isPrivateEcKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const key = value as {
    type?: unknown
    asymmetricKeyType?: unknown
    algorithm?: { name?: unknown }
  }
  if (key.type !== 'private') return false
  return key.asymmetricKeyType === 'ec' || key.algorithm?.name === 'ECDSA'
}
