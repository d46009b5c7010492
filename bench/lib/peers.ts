import { createPublicKey, createSecretKey, type JsonWebKey } from 'node:crypto'
import { JwtVerifier } from 'aws-jwt-verify'
import { createVerifier as createFastJwtVerifier } from 'fast-jwt'
import { importSPKI, jwtVerify, type CryptoKey } from 'jose'
import jsonwebtoken from 'jsonwebtoken'
import type { BenchAlgorithm } from './raw-jwt.js'
import { AUDIENCE, ISSUER } from './tokens.js'

/** The libraries bearerkit is compared with, each measured in a process of its own. */
export const PEERS = [
  'jose',
  'fast-jwt',
  'fast-jwt-cached',
  'aws-jwt-verify',
  'jsonwebtoken',
] as const
export type Peer = (typeof PEERS)[number]

/** How each peer is labelled in the tables. */
export const PEER_LABELS: Readonly<Record<Peer, string>> = {
  jose: 'jose jwtVerify',
  'fast-jwt': 'fast-jwt createVerifier',
  'fast-jwt-cached': 'fast-jwt createVerifier, cache hit',
  'aws-jwt-verify': 'aws-jwt-verify verifySync',
  jsonwebtoken: 'jsonwebtoken verify (KeyObject)',
}

/** Peers that answer from a verified-token cache (their figures are cache hits). */
export const CACHED_PEERS: ReadonlySet<Peer> = new Set<Peer>(['fast-jwt-cached'])

// What each library supports: aws-jwt-verify has no PS* and no HMAC (it verifies JWKS keys of
// RS*, ES* and EdDSA only); jsonwebtoken has no EdDSA.
const UNSUPPORTED: Readonly<Partial<Record<Peer, readonly BenchAlgorithm[]>>> = {
  'aws-jwt-verify': ['PS256', 'HS256'],
  jsonwebtoken: ['EdDSA'],
}

/** Whether `peer` can verify `alg` at all. */
export function supports(peer: Peer, alg: BenchAlgorithm): boolean {
  return !(UNSUPPORTED[peer] ?? []).includes(alg)
}

/** What a peer measures: one verification of the benchmark token, and whether it is async. */
export interface PeerRun {
  readonly async: boolean
  readonly run: () => unknown
}

/** Key material as the worker receives it. */
export interface PeerKey {
  readonly publicPem: string | undefined
  readonly secret: Buffer | undefined
}

/**
 * Builds `peer`'s verification of `token`, configured as its documentation recommends for an
 * access token: the key prepared once, `alg` pinned, `iss` and `aud` checked, and `typ` where the
 * library checks it. Throws when the peer refuses the token, so a fast refusal never passes for a
 * fast verification.
 */
export async function peerRun(
  peer: Peer,
  alg: BenchAlgorithm,
  token: string,
  key: PeerKey,
): Promise<PeerRun> {
  const { publicPem, secret } = key
  const material: string | Buffer = secret ?? (publicPem as string)
  let built: PeerRun
  switch (peer) {
    case 'jose': {
      const imported: CryptoKey | Uint8Array =
        secret === undefined ? await importSPKI(publicPem as string, alg) : secret
      const options = { issuer: ISSUER, audience: AUDIENCE, algorithms: [alg], typ: 'at+jwt' }
      built = { async: true, run: () => jwtVerify(token, imported, options) }
      break
    }
    case 'fast-jwt':
    case 'fast-jwt-cached': {
      const verify = createFastJwtVerifier({
        key: material,
        algorithms: [alg],
        allowedIss: ISSUER,
        allowedAud: AUDIENCE,
        checkTyp: 'at+jwt',
        ...(peer === 'fast-jwt-cached' ? { cache: 1000 } : {}),
      })
      built = { async: false, run: () => verify(token) as unknown }
      break
    }
    case 'aws-jwt-verify': {
      // The JWKS the verifier would fetch, cached up front: verifySync then never fetches.
      const header = JSON.parse(
        Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'),
      ) as { kid?: string }
      const jwk: JsonWebKey = createPublicKey(publicPem as string).export({ format: 'jwk' })
      const verifier = JwtVerifier.create({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUri: `${ISSUER}/.well-known/jwks.json`,
      })
      verifier.cacheJwks({ keys: [{ ...jwk, kid: header.kid, alg, use: 'sig' }] } as never)
      built = { async: false, run: () => verifier.verifySync(token) }
      break
    }
    case 'jsonwebtoken': {
      const keyObject =
        secret === undefined ? createPublicKey(publicPem as string) : createSecretKey(secret)
      const options = {
        algorithms: [alg as jsonwebtoken.Algorithm],
        issuer: ISSUER,
        audience: AUDIENCE,
      }
      built = { async: false, run: () => jsonwebtoken.verify(token, keyObject, options) }
      break
    }
  }
  // Every peer must accept the token it is measured on (a throw here fails the run loudly).
  await built.run()
  return built
}
