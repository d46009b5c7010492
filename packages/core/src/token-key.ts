import { Buffer } from 'node:buffer'
import { hash, randomFillSync } from 'node:crypto'
import { b64TokenBytes, isB64Token } from './b64token.js'

/*
 * The key of a token in this process's in-memory caches: a 128-bit hash keyed with a secret drawn
 * when the module loads, so that the token itself is never a key, and nobody outside the process
 * can compute, or aim at, the key of a token.
 *
 * Why not SHA-256 (`tokenCacheKey`)? A cache hit was dominated by it: about half of the hit's
 * cost for a 750-character JWT, mostly the fixed cost of a call into OpenSSL. A key that never
 * leaves the process needs no stable, standard hash (the shared caches of a fleet keep
 * `tokenCacheKey`). What it needs:
 *
 * - no collisions in practice between tokens: 128 bits of output, from four 32-bit lanes that each
 *   see every word of the token, seeded with 128 secret bits, and a final mix in which every output
 *   bit depends on every lane (the finalisation of MurmurHash3 x86_128);
 * - that a collision, should one happen anyway, can never give one token's answer to another: the
 *   cache compares the token of an entry with the token asked about, and a mismatch is a miss. It
 *   is not a cryptographic PRF, and nothing relies on it being one: a crafted collision costs its
 *   author a cache miss.
 *
 * The token's bytes are hashed through one scratch buffer when it is ASCII (as every bearer token
 * is, RFC 6750 §2.1), otherwise its UTF-16 code units through SHA-256: either way two different
 * strings never hash the same input. Nothing in between calls user code, so no other
 * verification can start while the buffer is in use.
 */

/** Longest token hashed here; longer ones (rare and suspect) take SHA-256 with the same secret. */
const MAX_CHARS = 4096

// UTF-8 takes at most 3 bytes per UTF-16 code unit; 16 more for the zero padding of a block.
const scratch = new Uint8Array(MAX_CHARS * 3 + 16)
const words = new Int32Array(scratch.buffer)
// encodeInto writes UTF-8 straight into the scratch buffer: the cheapest way in (no argument
// juggling of Buffer#write, no allocation).
const utf8 = new TextEncoder()

const seed = new Int32Array(4)
randomFillSync(seed)
const [S0, S1, S2, S3] = seed as unknown as [number, number, number, number]
// The same secret for the SHA-256 fallback, as text that cannot be confused with a token.
const PREFIX = `${Buffer.from(seed.buffer).toString('base64url')}\n`

const C1 = 0x239b961b
const C2 = 0xab0e9789
const C3 = 0x38b34ae5
const C4 = 0xa1e38b93

function fmix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

// UTF-16 code units, as they are: injective, unlike UTF-8 with lone surrogates.
function slowKey(token: string): string {
  return hash('sha256', Buffer.from(PREFIX + token, 'utf16le'), 'base64url')
}

/**
 * The key of `token` in an in-process cache: 128 bits as a string of eight UTF-16 code units,
 * from a hash keyed with a secret drawn when this process loaded core. It is not the token, and
 * nobody outside the process can compute it or aim at it; it is much cheaper than SHA-256.
 *
 * It differs from one process to the next: a cache shared by a fleet (Redis) keys by
 * {@link tokenCacheKey} instead. It is not a cryptographic hash either: an entry keeps its token,
 * and a hit is a hit only when that token is the one asked about (another token under the same
 * key is a miss).
 *
 * @example
 * ```ts
 * const key = processTokenKey(token)
 * const hit = cache.get(key)
 * if (hit !== undefined && hit.token === token) return hit.answer
 * ```
 */
export function processTokenKey(token: string): string {
  if (token.length > MAX_CHARS) return slowKey(token)
  const length = utf8.encodeInto(token, scratch).written
  // As many bytes as characters: all ASCII. Anything else (never a valid bearer token) takes the
  // slow way, since UTF-8 encodes every lone surrogate as U+FFFD and so is not injective.
  if (length !== token.length) return slowKey(token)
  return mixScratch(length)
}

/**
 * {@link processTokenKey} of `token` when it is an RFC 6750 b64token, or `null` when it is not:
 * the syntax check and the key in one reading of the token's bytes, for the request path (the
 * HTTP gate checks every token's syntax, and a cache in front of the verifier then needs its key).
 *
 * @internal Not exported from the package: reached through `scanBearerToken`.
 */
export function b64TokenKey(token: string): string | null {
  const length = token.length
  if (length === 0) return null
  if (length > MAX_CHARS) return isB64Token(token) ? slowKey(token) : null
  const { read, written } = utf8.encodeInto(token, scratch)
  if (read !== length || written !== length) return null
  return b64TokenBytes(scratch, words, token, length) ? mixScratch(length) : null
}

// The 128-bit hash of the first `length` bytes of the scratch buffer (ASCII, one per character):
// MurmurHash3 x86_128 with the secret seed, zero-padded to a whole block (the length is mixed in,
// so padding is harmless), as eight UTF-16 code units. Nothing in between calls user code, so no
// other verification can start while the buffer is in use.
function mixScratch(length: number): string {
  mixLanes(length)
  const [h1, h2, h3, h4] = lanes as unknown as [number, number, number, number]
  return String.fromCharCode(
    h1 & 0xffff,
    h1 >>> 16,
    h2 & 0xffff,
    h2 >>> 16,
    h3 & 0xffff,
    h3 >>> 16,
    h4 & 0xffff,
    h4 >>> 16,
  )
}

// The four 32-bit lanes of the last hash.
const lanes = new Int32Array(4)

function mixLanes(length: number): void {
  const end = (length + 15) & ~15
  for (let i = length; i < end; i++) scratch[i] = 0
  let h1 = S0
  let h2 = S1
  let h3 = S2
  let h4 = S3
  // MurmurHash3 x86_128 body: per 16-byte block, each lane takes one word and the next lane.
  for (let i = 0, n = end >> 2; i < n; i += 4) {
    let k1 = Math.imul(words[i] as number, C1)
    k1 = Math.imul((k1 << 15) | (k1 >>> 17), C2)
    h1 ^= k1
    h1 = (h1 << 19) | (h1 >>> 13)
    h1 = (h1 + h2) | 0
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0
    let k2 = Math.imul(words[i + 1] as number, C2)
    k2 = Math.imul((k2 << 16) | (k2 >>> 16), C3)
    h2 ^= k2
    h2 = (h2 << 17) | (h2 >>> 15)
    h2 = (h2 + h3) | 0
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0
    let k3 = Math.imul(words[i + 2] as number, C3)
    k3 = Math.imul((k3 << 17) | (k3 >>> 15), C4)
    h3 ^= k3
    h3 = (h3 << 15) | (h3 >>> 17)
    h3 = (h3 + h4) | 0
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0
    let k4 = Math.imul(words[i + 3] as number, C4)
    k4 = Math.imul((k4 << 18) | (k4 >>> 14), C1)
    h4 ^= k4
    h4 = (h4 << 13) | (h4 >>> 19)
    h4 = (h4 + h1) | 0
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0
  }
  h1 ^= length
  h2 ^= length
  h3 ^= length
  h4 ^= length
  h1 = (h1 + h2 + h3 + h4) | 0
  h2 = (h2 + h1) | 0
  h3 = (h3 + h1) | 0
  h4 = (h4 + h1) | 0
  h1 = fmix(h1)
  h2 = fmix(h2)
  h3 = fmix(h3)
  h4 = fmix(h4)
  h1 = (h1 + h2 + h3 + h4) | 0
  h2 = (h2 + h1) | 0
  h3 = (h3 + h1) | 0
  h4 = (h4 + h1) | 0
  lanes[0] = h1
  lanes[1] = h2
  lanes[2] = h3
  lanes[3] = h4
}

/**
 * The hash of {@link processTokenKey} as four 32-bit words written into `out[0..3]`, without
 * allocating: for in-process tables over typed arrays (the memory replay store). The same
 * properties and the same secret: 128 bits nobody outside the process can compute or aim at, not
 * a cryptographic hash, so a table keyed by it must treat a collision as the safe answer. For an
 * ASCII key of at most 4096 characters the words are those of `processTokenKey` (its code units
 * in pairs, low half first); any other key takes the first 128 bits of the keyed SHA-256 (which
 * allocates: such keys are rare).
 *
 * @internal Not exported from the package.
 */
export function processKeyWords(key: string, out: Int32Array): void {
  const length = key.length > MAX_CHARS ? -1 : utf8.encodeInto(key, scratch).written
  if (length !== key.length) {
    const digest = hash('sha256', Buffer.from(PREFIX + key, 'utf16le'), 'buffer')
    out[0] = digest.readInt32LE(0)
    out[1] = digest.readInt32LE(4)
    out[2] = digest.readInt32LE(8)
    out[3] = digest.readInt32LE(12)
    return
  }
  mixLanes(length)
  out.set(lanes)
}
