import { KeyObject, randomUUID, type webcrypto } from 'node:crypto'
import { SignJWT } from 'jose'
import type { AuthorizationServerMetadata } from '../authorization-server.js'
import type { ClientAuthMethod, OAuthClientInformation } from '../client-information.js'

/** RFC 7523 §2.2: the client assertion type of `private_key_jwt`. */
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** Lifetime of a client assertion: short, as it only has to reach the token endpoint. */
const ASSERTION_TTL = 60

/**
 * The method used for a client: its own, else derived from what it holds and what the server
 * advertises. RFC 8414 §2: without `token_endpoint_auth_methods_supported` the default is
 * `client_secret_basic`.
 */
export function authMethodOf(
  client: OAuthClientInformation,
  server: AuthorizationServerMetadata,
): ClientAuthMethod {
  if (client.authMethod !== undefined) return client.authMethod
  if (client.privateKey !== undefined) return 'private_key_jwt'
  if (client.clientSecret === undefined) return 'none'
  const supported = server.token_endpoint_auth_methods_supported
  if (
    supported !== undefined &&
    !supported.includes('client_secret_basic') &&
    supported.includes('client_secret_post')
  ) {
    return 'client_secret_post'
  }
  return 'client_secret_basic'
}

// RFC 6749 §2.3.1: id and secret are encoded with application/x-www-form-urlencoded (Appendix B)
// before being joined with ':' and base64-encoded; a ':' or '%' in either would break otherwise.
// URLSearchParams serialises exactly that (the WHATWG form-urlencoded serializer).
function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1)
}

/** Basic credentials for `client_secret_basic` (RFC 6749 §2.3.1). */
export function basicCredentials(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`
}

function assertionAlgorithm(key: KeyObject | webcrypto.CryptoKey): string {
  const curve =
    key instanceof KeyObject
      ? key.asymmetricKeyDetails?.namedCurve
      : (key.algorithm as webcrypto.EcKeyAlgorithm).namedCurve
  if (curve === 'secp384r1' || curve === 'P-384') return 'ES384'
  if (curve === 'secp521r1' || curve === 'P-521') return 'ES512'
  return 'ES256'
}

/**
 * Adds client authentication to a token (or other client-authenticated) request. The client id
 * goes into the body for every method but `client_secret_basic` (RFC 6749 §2.3.1, §3.2.1).
 *
 * @param now Seconds since the epoch, for the assertion's `iat` and `exp`.
 */
export async function authenticateClient(
  client: OAuthClientInformation,
  server: AuthorizationServerMetadata,
  endpoint: string,
  body: URLSearchParams,
  headers: Record<string, string>,
  now: number,
): Promise<void> {
  const method = authMethodOf(client, server)
  switch (method) {
    case 'client_secret_basic':
      headers.authorization = basicCredentials(client.clientId, client.clientSecret ?? '')
      return
    case 'client_secret_post':
      body.set('client_id', client.clientId)
      body.set('client_secret', client.clientSecret ?? '')
      return
    case 'none':
      body.set('client_id', client.clientId)
      return
    case 'private_key_jwt': {
      const key = client.privateKey as KeyObject | webcrypto.CryptoKey
      // RFC 7523 §3: iss and sub are the client id, aud identifies the authorization server, and
      // a fresh jti per assertion lets the server refuse a replayed one.
      const assertion = await new SignJWT({})
        .setProtectedHeader({
          alg: assertionAlgorithm(key),
          ...(client.keyId === undefined ? {} : { kid: client.keyId }),
        })
        .setIssuer(client.clientId)
        .setSubject(client.clientId)
        .setAudience(client.assertionAudience === 'token_endpoint' ? endpoint : server.issuer)
        .setJti(randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(now + ASSERTION_TTL)
        .sign(key)
      body.set('client_id', client.clientId)
      body.set('client_assertion_type', ASSERTION_TYPE)
      body.set('client_assertion', assertion)
      return
    }
  }
}
