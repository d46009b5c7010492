/**
 * The one place where the sender-constraint code (DPoP proofs, nonces, thumbprints) touches
 * node:crypto. Everything else in @bearerkit/http stays on web-standard APIs.
 *
 * Why node:crypto and not WebCrypto: every WebCrypto call is asynchronous and goes through a
 * thread hop, which costs more per request than the whole budget of a DPoP check beyond its one
 * signature verification. Deno, Bun and Cloudflare Workers (with `nodejs_compat`) provide these
 * functions too.
 */
import {
  constants,
  createHmac,
  hash,
  createPublicKey,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto'
import { nativePublicKey } from '@bearerkit/core'

/** What verifying one proof algorithm takes (RFC 7518 §3.1, RFC 8037 §3.1). */
export interface ProofAlgorithm {
  readonly kty: 'RSA' | 'EC' | 'OKP'
  /** Digest for node:crypto, or `null` for EdDSA (the curve fixes the hash). */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null
  readonly pss: boolean
  /** Curves allowed for EC and OKP keys. */
  readonly curves: readonly string[]
  /** Length of an ECDSA signature (r || s, RFC 7518 §3.4), 0 for the others. */
  readonly signatureLength: number
}

const rsa = (hash: ProofAlgorithm['hash'], pss: boolean): ProofAlgorithm => ({
  kty: 'RSA',
  hash,
  pss,
  curves: [],
  signatureLength: 0,
})

/**
 * The asymmetric algorithms a DPoP proof may use. RFC 9449 §4.3 (check 5): `alg` is not `none` and
 * not a MAC algorithm, so no HS* and no `none` here, whatever the configuration says.
 */
export const PROOF_ALGORITHMS: ReadonlyMap<string, ProofAlgorithm> = new Map([
  ['RS256', rsa('sha256', false)],
  ['RS384', rsa('sha384', false)],
  ['RS512', rsa('sha512', false)],
  ['PS256', rsa('sha256', true)],
  ['PS384', rsa('sha384', true)],
  ['PS512', rsa('sha512', true)],
  ['ES256', { kty: 'EC', hash: 'sha256', pss: false, curves: ['P-256'], signatureLength: 64 }],
  ['ES384', { kty: 'EC', hash: 'sha384', pss: false, curves: ['P-384'], signatureLength: 96 }],
  ['ES512', { kty: 'EC', hash: 'sha512', pss: false, curves: ['P-521'], signatureLength: 132 }],
  [
    'EdDSA',
    { kty: 'OKP', hash: null, pss: false, curves: ['Ed25519', 'Ed448'], signatureLength: 0 },
  ],
  ['Ed25519', { kty: 'OKP', hash: null, pss: false, curves: ['Ed25519'], signatureLength: 0 }],
] satisfies [string, ProofAlgorithm][])

/** SHA-256 of `input` (UTF-8 for a string), base64url without padding. */
export function sha256Base64url(input: string | Uint8Array): string {
  // The one-shot hash() costs about half of createHash().update().digest() for short inputs.
  return hash('sha256', input, 'base64url')
}

/** HMAC-SHA-256 of `data` under `secret`. */
export function hmacSha256(secret: Uint8Array, data: Uint8Array): Uint8Array {
  return createHmac('sha256', secret).update(data).digest()
}

/** Constant-time equality of two byte strings (false when the lengths differ). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Bytes of a UTF-8 string. */
export function utf8(value: string): Uint8Array {
  return Buffer.from(value, 'utf8')
}

/** UTF-8 bytes to a string (invalid sequences become U+FFFD, which no check accepts). */
export function decodeUtf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
}

/** Standard base64 (RFC 4648 §4) to bytes; the caller has checked the alphabet and padding. */
export function decodeBase64(value: string): Uint8Array {
  return Buffer.from(value, 'base64')
}

/** Bytes to base64url without padding. */
export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

/**
 * Decodes canonical unpadded base64url (RFC 7515 §2) into a new buffer, or returns `null`. Node's
 * decoder skips unknown characters and ignores non-zero trailing bits; both are refused here (see
 * `writeBase64url`) so that one byte string has exactly one spelling.
 */
export function decodeBase64url(segment: string): Buffer | null {
  const bytes = Buffer.alloc((segment.length * 3) >>> 2)
  return writeBase64url(bytes, segment, false) === -1 ? null : bytes
}

// The value of each base64url character (RFC 4648 §5) by its code, -1 for any other ASCII code.
const SEXTETS = new Int8Array(128).fill(-1)
for (let i = 0; i < 64; i++) {
  SEXTETS['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i
}

const sextetAt = (value: string, index: number): number => {
  const code = value.charCodeAt(index)
  return code < 128 ? (SEXTETS[code] as number) : -1
}

/*
 * The proof's segments are decoded by Node's base64url decoder, which is native and reads a
 * segment in a fraction of the time a JavaScript loop or a regular expression takes (the two
 * were a third of the instructions a DPoP proof costs beyond its signature). It is lenient, so
 * strictness is checked around it, cheaply:
 * - the segment must be ASCII (one UTF-8 byte per character): a string holding wider characters
 *   is converted before decoding, which turns some of them (U+0141) into letters;
 * - no `+` or `/`: the base64 alphabet, which the decoder takes too;
 * - every other ASCII character outside the alphabet (`=`, space, `.`, NUL ...) is skipped by the
 *   decoder, or stops it: either way fewer bytes come out than the length promises, which the
 *   byte count shows (each character carries 6 bits, so one character less is one byte less);
 * - the length is not 1 more than a multiple of 4, and the spare bits of the last character are
 *   zero (RFC 4648 §3.5), so that one byte string has one spelling.
 * The first two are skipped for a segment of a proof that {@link loadProof} found ASCII without
 * `+` or `/` (`checked`): one look at the whole proof rather than one per segment.
 */
function writeBase64url(into: Buffer, segment: string, checked: boolean): number {
  const length = segment.length
  const rest = length & 3
  if (rest === 1) return -1
  if (!checked) {
    if (Buffer.byteLength(segment, 'utf8') !== length) return -1
    if (segment.includes('+') || segment.includes('/')) return -1
  }
  // Every 4 characters are 3 bytes, and the last 2 or 3 are 1 or 2.
  const size = (length * 3) >>> 2
  if (into.write(segment, 0, 'base64url') !== size) return -1
  if (rest !== 0 && (sextetAt(segment, length - 1) & (rest === 2 ? 0x0f : 0x03)) !== 0) return -1
  return size
}

// Decoded signatures land here, and the view handed out is kept while its length repeats (a
// client's signatures all have one length). Nothing between the decoding and the verification
// calls user code, so no other verification can use them meanwhile.
let signatureBytes = Buffer.alloc(1024)
let signatureView: Uint8Array = signatureBytes.subarray(0, 0)

/**
 * {@link decodeBase64url} of the last segment of `proof`, from `start` to its end, decoded into a
 * buffer that the next call reuses: use the answer before calling this again. As strict: only
 * the base64url alphabet, no padding, zero trailing bits (RFC 4648 §3.5). `checked`: the proof
 * was found ASCII without `+` or `/` by {@link loadProof}.
 */
export function decodeSignature(proof: string, start: number, checked = false): Uint8Array | null {
  const size = ((proof.length - start) * 3) >>> 2
  if (signatureBytes.length < size) {
    signatureBytes = Buffer.alloc(size)
    signatureView = signatureBytes.subarray(0, 0)
  }
  const written = writeBase64url(signatureBytes, start === 0 ? proof : proof.slice(start), checked)
  if (written === -1) return null
  if (signatureView.length !== written) signatureView = signatureBytes.subarray(0, written)
  return signatureView
}

// Decoded JSON segments pass through here rather than through a new Buffer each. Nothing between
// the write and the read calls user code, so no other verification can use it meanwhile.
let text = Buffer.alloc(4096)

/**
 * {@link decodeBase64url}, then the bytes as UTF-8 text (invalid sequences become U+FFFD, which no
 * check accepts), or `null`. `checked`: the segment is part of a proof that {@link loadProof}
 * found ASCII without `+` or `/`.
 */
export function decodeBase64urlText(segment: string, checked = false): string | null {
  const size = (segment.length * 3) >>> 2
  if (text.length < size) text = Buffer.alloc(size)
  const written = writeBase64url(text, segment, checked)
  return written === -1 ? null : text.toString('utf8', 0, written)
}

/** A public key ready to verify with, and its RFC 7638 thumbprint. */
export interface ImportedKey {
  readonly key: KeyObject
  readonly thumbprint: string
}

// Imported keys by their RFC 7638 thumbprint input (the required members only, so the key is the
// same whatever optional members a proof adds). A client signs every proof with one key, so a
// small cache spares the import (tens of microseconds) on all but the first request.
const MAX_KEYS = 1000
const keys = new Map<string, ImportedKey>()

/**
 * Imports the public JWK whose RFC 7638 thumbprint input is `canonical` (built by the caller from
 * the required members). Returns `null` when node:crypto cannot make a public key of it.
 */
export function importPublicKey(
  canonical: string,
  members: Record<string, string>,
): ImportedKey | null {
  const cached = keys.get(canonical)
  if (cached !== undefined) return cached
  let key: KeyObject
  try {
    key = createPublicKey({ key: members, format: 'jwk' })
  } catch {
    return null
  }
  const imported: ImportedKey = {
    key: nativePublicKey(key),
    thumbprint: sha256Base64url(canonical),
  }
  if (keys.size >= MAX_KEYS) {
    // Drop the oldest entry; a Map iterates in insertion order.
    const oldest = keys.keys().next()
    if (oldest.done !== true) keys.delete(oldest.value)
  }
  keys.set(canonical, imported)
  return imported
}

/** RSA modulus length in bits, or 0 for other key types. */
export function modulusLength(key: KeyObject): number {
  return key.asymmetricKeyDetails?.modulusLength ?? 0
}

/** What `crypto.verify` takes as its key for one algorithm: made once per checked proof header. */
export type VerifyKey =
  | KeyObject
  | { readonly key: KeyObject; readonly dsaEncoding: 'ieee-p1363' }
  | { readonly key: KeyObject; readonly padding: number; readonly saltLength: number }

/** The `crypto.verify` key argument for `algorithm` (RFC 7518 §3.4 r || s, §3.5 PSS salt). */
export function verifyKeyFor(algorithm: ProofAlgorithm, key: KeyObject): VerifyKey {
  if (algorithm.kty === 'EC') return Object.freeze({ key, dsaEncoding: 'ieee-p1363' })
  if (algorithm.pss) {
    return Object.freeze({
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: hashLength(algorithm.hash),
    })
  }
  return key
}

// Proofs are copied here for their signing input, not into a new Buffer each. Nothing between
// the copy and the verification calls user code, so no other verification can use it meanwhile.
let scratch = new Uint8Array(4096)
// The view of the signing input handed to `verify`, kept while its length repeats.
let signingInput = scratch.subarray(0, 0)
const encoder = new TextEncoder()

/**
 * Verifies a JWS signature over the first `length` characters of `proof` (its signing input) with
 * `key`, made by {@link verifyKeyFor}. The proof must be ASCII (the caller has checked its
 * segments); anything else fails. A proof just loaded by {@link loadProof} is not copied again.
 * Never throws.
 */
export function verifySignature(
  algorithm: ProofAlgorithm,
  key: VerifyKey,
  proof: string,
  length: number,
  signature: Uint8Array,
): boolean {
  if (algorithm.signatureLength !== 0 && signature.length !== algorithm.signatureLength) {
    return false
  }
  if (proof !== loaded && !loadProof(proof)) return false
  if (signingInput.length !== length) signingInput = scratch.subarray(0, length)
  try {
    return verify(algorithm.hash, signingInput, key, signature)
  } catch {
    return false
  }
}

// The proof whose bytes are in `scratch`, or null.
let loaded: string | null = null

/**
 * Copies `proof` into the scratch buffer that {@link verifySignature} reads its signing input
 * from, and says whether it is ASCII without `+` or `/`, as every compact JWS in base64url is:
 * then the segment decoders may be told that their text is `checked`. Call it for the proof about
 * to be verified; nothing until its verification may load another.
 */
export function loadProof(proof: string): boolean {
  if (scratch.length < proof.length) {
    scratch = new Uint8Array(proof.length)
    signingInput = scratch.subarray(0, 0)
  }
  const { read, written } = encoder.encodeInto(proof, scratch)
  // One byte per character, or it was not ASCII.
  if (read !== proof.length || written !== proof.length) {
    loaded = null
    return false
  }
  loaded = proof
  return !proof.includes('+') && !proof.includes('/')
}

function hashLength(hash: ProofAlgorithm['hash']): number {
  // RFC 7518 §3.5: the salt length equals the digest length.
  return hash === 'sha512' ? 64 : hash === 'sha384' ? 48 : 32
}
