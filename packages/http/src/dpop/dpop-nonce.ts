import { invalidArgument, readFunction, readInteger } from '@bearerkit/core'
import {
  decodeBase64url,
  encodeBase64url,
  equalBytes,
  hmacSha256,
  utf8,
} from '../lib/dpop-crypto.js'

/** Options of {@link createDpopNonces}. */
export interface DpopNoncesOptions {
  /**
   * The HMAC secret(s), at least 32 bytes each (a string counts its UTF-8 bytes). The first one
   * issues nonces; every one is accepted, so a rotation adds the new secret first and removes the
   * old one after two steps. Every instance of a fleet must hold the same list.
   */
  readonly secret: string | Uint8Array | readonly (string | Uint8Array)[]
  /**
   * Length of one time step, in seconds. Default 60. A nonce is accepted in the step it was issued
   * in and in the next one (and one step early, for an instance whose clock runs behind).
   */
  readonly step?: number
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number
}

/** Issues and checks stateless DPoP nonces (RFC 9449 §9). */
export interface DpopNonces {
  /** The nonce to send in `DPoP-Nonce` now. The same value for a whole time step. */
  issue(): string
  /** Whether `nonce` was issued by a holder of one of the secrets, in an accepted step. */
  verify(nonce: string): boolean
}

const NONCE_LENGTH = 32 // base64url of 8 bytes of step and 16 bytes of MAC
const MIN_SECRET_BYTES = 32
const LABEL = 'bearerkit dpop nonce v1'

/**
 * Stateless resource-server nonces for DPoP (RFC 9449 §9): a nonce is a time step and an
 * HMAC-SHA-256 over it, so any instance holding the secret can check it without shared state and
 * none can be forged without the secret. A nonce cannot be tied to one client this way: its job is
 * freshness (a proof made before the step began cannot carry it), while the replay store stops a
 * proof from being used twice.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-9 RFC 9449 §9 (resource server nonce)
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-11.1 RFC 9449 §11.1 (pre-generated proofs)
 * @example
 * ```ts
 * const nonces = createDpopNonces({ secret: process.env.DPOP_NONCE_SECRET! })
 * response.headers.set('DPoP-Nonce', nonces.issue())
 * ```
 */
export function createDpopNonces(options: DpopNoncesOptions): DpopNonces {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('options', 'must be an object with a `secret`')
  }
  const rawSecrets: readonly unknown[] = Array.isArray(options.secret)
    ? (options.secret as readonly unknown[])
    : [options.secret]
  if (rawSecrets.length === 0) throw invalidArgument('options.secret', 'must not be empty')
  const secrets = rawSecrets.map((secret, index) => {
    const bytes =
      typeof secret === 'string' ? utf8(secret) : secret instanceof Uint8Array ? secret : null
    if (bytes === null || bytes.length < MIN_SECRET_BYTES) {
      throw invalidArgument(
        Array.isArray(options.secret) ? `options.secret[${index}]` : 'options.secret',
        `must be a string or Uint8Array of at least ${MIN_SECRET_BYTES} bytes`,
      )
    }
    // A copy: a caller who later overwrites its buffer must not change our secret.
    return Uint8Array.from(bytes)
  })
  const step = readInteger('options.step', options.step, 60, 1)
  const now = readFunction<() => number>('options.now', options.now) ?? Date.now

  const mac = (secret: Uint8Array, counter: number): Uint8Array => {
    const message = new Uint8Array(LABEL.length + 8)
    message.set(utf8(LABEL))
    new DataView(message.buffer).setBigUint64(LABEL.length, BigInt(counter))
    return hmacSha256(secret, message).subarray(0, 16)
  }
  const encode = (counter: number): string => {
    const bytes = new Uint8Array(24)
    new DataView(bytes.buffer).setBigUint64(0, BigInt(counter))
    bytes.set(mac(secrets[0] as Uint8Array, counter), 8)
    return encodeBase64url(bytes)
  }
  const currentStep = (): number => Math.floor(now() / 1000 / step)

  // One HMAC per step, not per response.
  let issuedStep = -1
  let issued = ''

  return {
    issue() {
      const counter = currentStep()
      if (counter !== issuedStep) {
        issued = encode(counter)
        issuedStep = counter
      }
      return issued
    },
    verify(nonce) {
      if (typeof nonce !== 'string' || nonce.length !== NONCE_LENGTH) return false
      const bytes = decodeBase64url(nonce)
      if (bytes === null) return false
      const counter = Number(new DataView(bytes.buffer, bytes.byteOffset, 24).getBigUint64(0))
      const current = currentStep()
      if (counter < current - 1 || counter > current + 1) return false
      const tag = bytes.subarray(8)
      for (const secret of secrets) {
        if (equalBytes(mac(secret, counter), tag)) return true
      }
      return false
    },
  }
}
