import { constants, createHmac, timingSafeEqual, verify, type KeyObject } from 'node:crypto'

/** The algorithms the benchmarks cover. */
export const BENCH_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256'] as const
export type BenchAlgorithm = (typeof BENCH_ALGORITHMS)[number]

/** Verifies a compact JWS and returns its payload, or `null`. */
export type RawVerify = (token: string) => Record<string, unknown> | null

function signatureCheck(
  alg: BenchAlgorithm,
  key: KeyObject,
): (data: Buffer, signature: Buffer) => boolean {
  switch (alg) {
    case 'RS256':
      return (data, signature) => verify('sha256', data, key, signature)
    case 'PS256':
      return (data, signature) =>
        verify(
          'sha256',
          data,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
          signature,
        )
    case 'ES256':
      // RFC 7518 §3.4: the signature is r || s, not DER.
      return (data, signature) =>
        verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature)
    case 'EdDSA':
      return (data, signature) => verify(null, data, key, signature)
    case 'HS256':
      return (data, signature) => {
        const expected = createHmac('sha256', key).update(data).digest()
        return expected.length === signature.length && timingSafeEqual(expected, signature)
      }
  }
}

/**
 * The lower bound of JWT verification: what a hand-written verifier with `node:crypto` and no
 * library does, and nothing more. It splits the token, decodes and parses the header, checks
 * `alg`, verifies the signature with a prepared `KeyObject`, and decodes and parses the payload.
 * It checks no claim (`iss`, `aud`, `exp` ...), which every real verifier must, so it is a bound,
 * not a peer.
 */
export function createRawVerify(alg: BenchAlgorithm, key: KeyObject): RawVerify {
  const check = signatureCheck(alg, key)
  return (token) => {
    const first = token.indexOf('.')
    const last = token.lastIndexOf('.')
    if (first <= 0 || last === first || token.indexOf('.', first + 1) !== last) return null
    const header = JSON.parse(
      Buffer.from(token.slice(0, first), 'base64url').toString('utf8'),
    ) as Record<string, unknown>
    if (header.alg !== alg) return null
    const signature = Buffer.from(token.slice(last + 1), 'base64url')
    if (!check(Buffer.from(token.slice(0, last), 'latin1'), signature)) return null
    return JSON.parse(
      Buffer.from(token.slice(first + 1, last), 'base64url').toString('utf8'),
    ) as Record<string, unknown>
  }
}
