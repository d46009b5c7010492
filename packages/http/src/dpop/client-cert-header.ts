import { decodeBase64 } from '../lib/dpop-crypto.js'

/** Default for {@link ParseClientCertOptions.maxLength}: 16 KiB of header text. */
export const DEFAULT_MAX_CLIENT_CERT_LENGTH = 16_384

/** Options of {@link parseClientCertHeader}. */
export interface ParseClientCertOptions {
  /** Longest header value accepted, in characters. Default 16 KiB. */
  readonly maxLength?: number
}

// RFC 8941 §3.3.5: a Byte Sequence is base64 (RFC 4648 §4) between colons; parsers "SHOULD NOT
// fail when '=' padding is not present".
const BYTE_SEQUENCE = /^:((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?):$/

/**
 * Reads the DER certificate from an RFC 9440 `Client-Cert` header, as a TLS-terminating proxy
 * sends it. Returns `null` when the header is absent, repeated, too long or not a well-formed
 * Byte Sequence holding a DER SEQUENCE: a request without a usable certificate, which a
 * certificate-bound token then fails (RFC 8705 §3).
 *
 * Only call this for requests that come from a proxy you trust to set the header (and to remove
 * it from client requests): anyone else can send any certificate in it (RFC 9440 §3, §6).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9440#section-2.2 RFC 9440 §2.2 (`Client-Cert`)
 * @see https://www.rfc-editor.org/rfc/rfc8941#section-3.3.5 RFC 8941 §3.3.5 (Byte Sequence)
 * @example
 * ```ts
 * const der = fromTrustedProxy ? parseClientCertHeader(request.headers.get('client-cert')) : null
 * ```
 */
export function parseClientCertHeader(
  value: string | readonly string[] | null | undefined,
  options: ParseClientCertOptions = {},
): Uint8Array | null {
  const maxLength = options.maxLength ?? DEFAULT_MAX_CLIENT_CERT_LENGTH
  let text: string
  if (typeof value === 'string') text = value
  else if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') {
    text = value[0]
  } else return null
  if (text.length > maxLength) return null
  // RFC 9110 §5.5: optional whitespace around a field value is not part of it. A comma means two
  // field lines were combined: RFC 9440 §2.2 allows one certificate.
  const match = BYTE_SEQUENCE.exec(text.replace(/^[ \t]+|[ \t]+$/g, ''))
  if (match === null || (match[1] as string) === '') return null
  const der = decodeBase64(match[1] as string)
  return isDerSequence(der) ? der : null
}

/** Whether `bytes` is exactly one DER SEQUENCE (tag 0x30 and a length that spans the rest). */
function isDerSequence(bytes: Uint8Array): boolean {
  if (bytes.length < 2 || bytes[0] !== 0x30) return false
  const first = bytes[1] as number
  if (first < 0x80) return first + 2 === bytes.length
  const count = first & 0x7f
  // X.509 certificates need at most 4 length bytes; 0x80 (indefinite) is not DER.
  if (count === 0 || count > 4 || bytes.length < 2 + count) return false
  let length = 0
  for (let i = 0; i < count; i++) length = length * 256 + (bytes[2 + i] as number)
  return length + 2 + count === bytes.length
}
