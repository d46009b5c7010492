/*
 * RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 *
 * Every request's token is checked against this grammar, so the check is on the request path of
 * every adapter. A regular expression reads about one character per nanosecond; copying the
 * token's UTF-8 bytes once (natively) and looking them up two at a time in a table, as halves of
 * 32-bit words, reads two to three times as fast. The expression is kept for values longer than
 * the scratch buffer, and a test holds the two to the same answers.
 */

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

// 0 for a b64token character before the padding, 1 for anything else ('=' included: the padding
// is checked apart). Indexed by byte; every byte of the fast path is ASCII.
const OUTSIDE = new Uint8Array(256).fill(1)
for (const char of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/') {
  OUTSIDE[char.charCodeAt(0)] = 0
}

// The same for two bytes at once, indexed by a 16-bit half of a word (either byte order): 64 KiB,
// of which the pairs of b64token characters touch a few kilobytes.
const OUTSIDE_PAIR = new Uint8Array(65536)
for (let pair = 0; pair < 65536; pair++) {
  OUTSIDE_PAIR[pair] = (OUTSIDE[pair & 0xff] as number) | (OUTSIDE[pair >>> 8] as number)
}

/** Longest value checked through the table; longer ones (rare, and refused by size anyway) take the expression. */
const MAX_FAST = 16 * 1024

// UTF-8 takes at most 3 bytes per UTF-16 code unit: room for any string of MAX_FAST units, so
// encodeInto always reads the whole string and `read`/`written` tell whether it was all ASCII.
const scratch = new Uint8Array(MAX_FAST * 3 + 4)
const words = new Int32Array(scratch.buffer)
const utf8 = new TextEncoder()
const EQUALS = 0x3d

/**
 * Whether `value` is an RFC 6750 `b64token`: one or more of `A-Z a-z 0-9 - . _ ~ + /`, then any
 * number of `=`. Non-ASCII text, spaces, commas and the empty string are not.
 *
 * Every character is read, whatever the answer: the time taken depends on the length only, up to
 * the first `=`. Nothing it calls runs user code, so the scratch buffer it reads through cannot be
 * reused by another call meanwhile.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1 RFC 6750 §2.1
 * @example
 * ```ts
 * if (!isB64Token(token)) throw new InvalidRequestError('The bearer token is malformed')
 * ```
 */
export function isB64Token(value: string): boolean {
  // Typed as a string; a caller without types may still pass anything, which is not a token.
  if (typeof value !== 'string') return false
  const length = value.length
  if (length === 0) return false
  if (length > MAX_FAST) return B64TOKEN.test(value)
  const { read, written } = utf8.encodeInto(value, scratch)
  // Anything but one byte per character: not ASCII, so not a b64token.
  if (read !== length || written !== length) return false
  return b64TokenBytes(scratch, words, value, length)
}

/**
 * Whether the first `length` bytes of `bytes` (the ASCII text `value`, one byte per character,
 * `words` the same memory as 32-bit words) are a b64token.
 *
 * @internal For the key of core's caches, which reads the same bytes (token-key.ts).
 */
export function b64TokenBytes(
  bytes: Uint8Array,
  words: Int32Array,
  value: string,
  length: number,
): boolean {
  // The padding: from the first '=' to the end, nothing else.
  let end = value.indexOf('=')
  if (end === -1) end = length
  else {
    if (end === 0) return false
    for (let i = end; i < length; i++) if (bytes[i] !== EQUALS) return false
  }
  let outside = 0
  const whole = end >>> 2
  for (let i = 0; i < whole; i++) {
    const word = words[i] as number
    outside |= (OUTSIDE_PAIR[word & 0xffff] as number) | (OUTSIDE_PAIR[word >>> 16] as number)
  }
  for (let i = whole << 2; i < end; i++) outside |= OUTSIDE[bytes[i] as number] as number
  return outside === 0
}
