import { invalidArgument } from '@bearerkit/core'
import { sha256Base64url } from '../lib/dpop-crypto.js'

/**
 * The X.509 certificate SHA-256 thumbprint of a DER-encoded certificate, base64url without
 * padding: the value a certificate-bound token carries as `cnf["x5t#S256"]`.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) when `der` is not a non-empty `Uint8Array`.
 * @see https://www.rfc-editor.org/rfc/rfc8705#section-3.1 RFC 8705 §3.1 (`x5t#S256`)
 * @example
 * ```ts
 * // Node, TLS terminated by the server itself (`requestCert: true`):
 * const der = socket.getPeerCertificate().raw
 * const thumbprint = certificateThumbprint(der)
 * ```
 */
export function certificateThumbprint(der: Uint8Array): string {
  if (!(der instanceof Uint8Array) || der.length === 0) {
    throw invalidArgument('der', 'must be a non-empty Uint8Array (a DER certificate)')
  }
  return sha256Base64url(der)
}
