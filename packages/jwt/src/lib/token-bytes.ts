import { Buffer } from 'node:buffer'
import { isBase64url, sextet } from './base64url.js'

/*
 * Reading a compact JWS apart without a Buffer per segment. Node's Buffer.from(string) costs an
 * allocation each time; here one scratch buffer receives, in turn, the token's bytes (the signing
 * input is their prefix), one decoded JSON segment, and the decoded signature. That is about a
 * third of the work of taking a token apart, before the signature check.
 *
 * One scratch buffer is shared by every verifier in the process and lent to one verification at
 * a time (`acquireScratch` / `releaseScratch`). A verification holds it from loading the token to
 * the end of the signature check, a stretch without an await but with calls out to user code (a
 * custom key resolver, a custom key, a clock): if such code starts another verification, the
 * shared buffer is taken, and the nested verification gets a fresh buffer of its own. So no
 * verification can overwrite the bytes of another, whatever the user code does, and the normal
 * path costs a flag test. After an await, a verification acquires and loads again.
 *
 * Layout, for a token of L characters (capacity 3L, what UTF-8 can take for L code units):
 *   [0, L)      the token as ASCII, once `loadToken` said it is ASCII
 *   [L, 2L)     one decoded JSON segment (at most 3L/4 bytes)
 *   [2L, 3L)    the decoded signature (at most 3L/4 bytes)
 */

let shared = Buffer.allocUnsafeSlow(8 * 1024)
let lent = false

/**
 * A scratch buffer able to hold the layout above for a token of `length` characters: the shared
 * one when no verification holds it, otherwise (a verification started from within another) a
 * fresh one. Pair every call with {@link releaseScratch}, in a `finally`.
 */
export function acquireScratch(length: number): Buffer {
  const capacity = length * 3
  if (lent) return Buffer.allocUnsafe(capacity)
  lent = true
  if (shared.length < capacity) shared = Buffer.allocUnsafeSlow(capacity)
  return shared
}

/** Gives back a buffer from {@link acquireScratch}. */
export function releaseScratch(scratch: Buffer): void {
  if (scratch === shared) lent = false
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * The UTF-8 text of `scratch[start, end)`; throws a `TypeError` when it is not valid UTF-8. The
 * lenient decoder of Buffer writes U+FFFD for every ill-formed sequence, so text without U+FFFD
 * came from valid UTF-8 (the usual case, and an O(1) test when the text is all Latin-1). Text
 * holding U+FFFD, a real one or a repair, is decoded again by the strict decoder, which decides.
 * A byte-order mark is kept by both (as U+FEFF, which JSON.parse refuses).
 */
function decodeUtf8(scratch: Buffer, start: number, end: number): string {
  const text = scratch.toString('utf8', start, end)
  return text.includes('\uFFFD') ? utf8.decode(scratch.subarray(start, end)) : text
}

/**
 * Copies `token` into `scratch` (from {@link acquireScratch} for this token's length). Returns `true` when the token is ASCII without `+` or
 * `/`: then the segment decoders below can check canonical base64url by counting bytes. Any other
 * token is still readable, but each segment is first checked the slow way (by regular expression),
 * so that the refusal names the segment at fault.
 */
export function loadToken(scratch: Buffer, token: string): boolean {
  // UTF-8 writes one byte per character exactly when every character is ASCII: a non-ASCII
  // character takes 2 or 3 bytes, and the buffer has room for all of them.
  if (scratch.write(token, 0, 'utf8') !== token.length) return false
  // Node's base64url decoder also takes `+` and `/` (the base64 alphabet), which a canonical
  // base64url segment never holds; every other foreign character is skipped by it, which the
  // byte count shows.
  return !token.includes('+') && !token.includes('/')
}

/**
 * Decodes `token.slice(start, end)` into the scratch buffer at `offset`; returns the number of
 * bytes, or -1 when the segment is not non-empty, canonical, unpadded base64url (RFC 7515 §2).
 * `clean` is what `loadToken` returned for this token.
 */
function decodeSegment(
  scratch: Buffer,
  token: string,
  start: number,
  end: number,
  offset: number,
  clean: boolean,
): number {
  const length = end - start
  const rest = length & 3
  if (length === 0 || rest === 1) return -1
  const segment = token.slice(start, end)
  if (!clean && !isBase64url(segment)) return -1
  const written = scratch.write(segment, offset, 'base64url')
  // Every character of canonical base64url carries 6 bits; a character the decoder skipped (or a
  // `=` that stopped it) leaves fewer bytes than the length promises.
  if (written !== (length * 3) >> 2) return -1
  if (rest === 0) return written
  // RFC 4648 §3.5: the bits after the last full byte must be zero, or two strings decode alike.
  const last = sextet(token.charCodeAt(end - 1))
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0 ? written : -1
}

/**
 * The JSON object held by segment `[start, end)` of `token` (a JOSE header or a claims set), or
 * `null` when it is not canonical base64url of UTF-8 JSON text of an object. Invalid UTF-8 and a
 * byte-order mark are refused rather than repaired (RFC 8259 §8.1).
 */
export function readJsonSegment(
  scratch: Buffer,
  token: string,
  start: number,
  end: number,
  clean: boolean,
): Record<string, unknown> | null {
  const offset = token.length
  const written = decodeSegment(scratch, token, start, end, offset, clean)
  if (written === -1) return null
  let value: unknown
  try {
    value = JSON.parse(decodeUtf8(scratch, offset, offset + written))
  } catch {
    return null
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null
}

/**
 * Decodes the signature, the segment after `start`, into the scratch buffer and returns it, or
 * `null` when it is not canonical base64url. Valid until `scratch` is released.
 */
export function readSignature(
  scratch: Buffer,
  token: string,
  start: number,
  clean: boolean,
): Uint8Array | null {
  const offset = token.length * 2
  const written = decodeSegment(scratch, token, start, token.length, offset, clean)
  return written === -1 ? null : scratch.subarray(offset, offset + written)
}

/** The signing input (the token up to `end`), as bytes. Only after a `loadToken` that said clean. */
export function signingInput(scratch: Buffer, end: number): Uint8Array {
  return scratch.subarray(0, end)
}
