import { createHash, randomUUID } from 'node:crypto'
import { EmbeddedJWK, SignJWT, calculateJwkThumbprint, jwtVerify, type JWK } from 'jose'
import { invalidArgument } from '@bearerkit/core'
import { ASYMMETRIC_ALGORITHMS, type TestKeyPair } from './keys.js'

/** Options of {@link createDpopProof}. */
export interface CreateDpopProofOptions {
  /** The client's proof key (from `generateKeyPair`). */
  key: TestKeyPair
  /** `htm`: the request method. Default `GET`. */
  method?: string
  /** `htu`: the request URI (query and fragment are dropped, RFC 9449 §4.2). */
  url: string
  /** The access token sent with the proof: `ath` is its SHA-256. Leave out for a token request. */
  accessToken?: string
  /** `nonce`: a server nonce (`DPoP-Nonce`). */
  nonce?: string
  /** `iat`, seconds since the epoch. Default: now. */
  iat?: number
  /** `jti`. Default: a random UUID. */
  jti?: string
  /** Extra claims; they override the ones above (`undefined` drops one). */
  claims?: Readonly<Record<string, unknown>>
  /** Extra protected header parameters; they override `typ`, `alg` and `jwk`. */
  header?: Readonly<Record<string, unknown>>
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

/**
 * A DPoP proof (RFC 9449 §4.2) for one request: `typ` `dpop+jwt`, the public key in `jwk`, and
 * `jti`, `htm`, `htu`, `iat`, plus `ath` when an access token is given.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2 RFC 9449 §4.2
 * @example
 * ```ts
 * const key = await generateKeyPair('ES256')
 * const token = await createToken({ key: issuerKey, claims: { cnf: { jkt: await dpopThumbprint(key) } } })
 * const proof = await createDpopProof({ key, method: 'GET', url: 'https://rs.example.com/mcp', accessToken: token })
 * await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: proof } })
 * ```
 */
export async function createDpopProof(options: CreateDpopProofOptions): Promise<string> {
  if (typeof options?.url !== 'string') throw invalidArgument('options.url', 'must be a string')
  const now = options.now ?? Date.now
  const url = options.url.replace(/[?#].*$/s, '')
  const payload: Record<string, unknown> = {
    jti: options.jti ?? randomUUID(),
    htm: options.method ?? 'GET',
    htu: url,
    iat: options.iat ?? Math.floor(now() / 1000),
    ...(options.accessToken === undefined
      ? {}
      : { ath: createHash('sha256').update(options.accessToken).digest('base64url') }),
    ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
    ...options.claims,
  }
  // The public members only: kid, use and alg are no part of a proof's jwk (RFC 9449 §4.2).
  const jwk = Object.fromEntries(
    Object.entries(options.key.publicJwk).filter(([name]) => !['kid', 'use', 'alg'].includes(name)),
  )
  return new SignJWT(payload)
    .setProtectedHeader({ typ: 'dpop+jwt', alg: options.key.alg, jwk, ...options.header })
    .sign(options.key.privateKey)
}

/**
 * The RFC 7638 thumbprint of a proof key: the `cnf.jkt` of tokens bound to it (RFC 9449 §6.1).
 *
 * @example
 * ```ts
 * const token = await createToken({ key: issuerKey, claims: { cnf: { jkt: await dpopThumbprint(key) } } })
 * ```
 */
export function dpopThumbprint(key: TestKeyPair): Promise<string> {
  return calculateJwkThumbprint(key.publicJwk, 'sha256')
}

/**
 * Checks the DPoP proof of a token request (RFC 9449 §4.3, without nonce or replay checks) and
 * returns the thumbprint of its key, or `null` when the proof is not acceptable. Used by the local
 * authorization server; tests only.
 */
export async function tokenRequestProofKey(
  proof: string,
  request: { method: string; url: string; now: number },
): Promise<string | null> {
  try {
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: [...ASYMMETRIC_ALGORITHMS],
      currentDate: new Date(request.now),
      maxTokenAge: 60,
      clockTolerance: 5,
    })
    if (payload.htm !== request.method || payload.htu !== request.url) return null
    if (typeof payload.jti !== 'string' || payload.jti === '') return null
    const jwk = protectedHeader.jwk as JWK
    if ('d' in jwk) return null
    return await calculateJwkThumbprint(jwk, 'sha256')
  } catch {
    return null
  }
}
