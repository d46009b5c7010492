import { randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import type { ClientAuth } from './resolve-options.js'

/** RFC 7523 §2.2: the client assertion type for JWT client authentication. */
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** Lifetime of a client assertion, in seconds: long enough for one request, no longer. */
const ASSERTION_LIFETIME = 60

/**
 * `application/x-www-form-urlencoded` encoding of one value, as RFC 6749 §2.3.1 requires for the
 * client id and secret before they are joined with `:` and base64-encoded (a `:` in the id must
 * not split it).
 */
export function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1)
}

/**
 * Adds client authentication to an introspection request: a header for `client_secret_basic`,
 * body parameters for the others. `audience` is the client assertion's `aud`. Called once per
 * attempt, so every retry carries a fresh assertion (RFC 7523 §3: a `jti` is used once).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1 RFC 6749 §2.3.1
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3 RFC 7523 §3
 */
export async function authenticateClient(
  auth: ClientAuth,
  body: URLSearchParams,
  headers: Record<string, string>,
  audience: string,
  nowMs: number,
): Promise<void> {
  switch (auth.method) {
    case 'client_secret_basic': {
      const credentials = `${formEncode(auth.clientId)}:${formEncode(auth.clientSecret)}`
      headers.authorization = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`
      return
    }
    case 'client_secret_post':
      body.set('client_id', auth.clientId)
      body.set('client_secret', auth.clientSecret)
      return
    case 'private_key_jwt': {
      const { key, alg, kid } = auth.signingKey
      const iat = Math.floor(nowMs / 1000)
      // A signing failure (which the key checks at construction make unlikely) is wrapped by
      // the caller as VerifierUnavailableError.
      const assertion = await new SignJWT({})
        .setProtectedHeader(kid === undefined ? { alg } : { alg, kid })
        .setIssuer(auth.clientId)
        .setSubject(auth.clientId)
        .setAudience(audience)
        .setJti(randomUUID())
        .setIssuedAt(iat)
        .setExpirationTime(iat + ASSERTION_LIFETIME)
        .sign(key)
      body.set('client_id', auth.clientId)
      body.set('client_assertion_type', ASSERTION_TYPE)
      body.set('client_assertion', assertion)
      return
    }
    case 'none':
      if (auth.clientId !== undefined) body.set('client_id', auth.clientId)
      return
  }
}
