import {
  KeyObject,
  X509Certificate,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type JsonWebKey,
  type webcrypto,
} from 'node:crypto'
import { invalidArgument } from '@bearerkit/core'
import { ALGORITHMS, isSupportedAlgorithm } from './algorithm-table.js'
import { decodeBase64url, isBase64url } from './base64url.js'
import { MAX_KID_LENGTH, PreparedKey, prepareKey, type KeySkipReason } from './prepared-key.js'

// RFC 7518 §6.3.2 and §6.2.2 (and RFC 8037 §2): members that only a private key has.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'] as const

// The members node:crypto needs to import each public key type, and nothing else.
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ['n', 'e'],
  EC: ['crv', 'x', 'y'],
  OKP: ['crv', 'x'],
}

const SIGNING_CURVES: Readonly<Record<string, readonly string[]>> = {
  EC: ['P-256', 'P-384', 'P-521'],
  OKP: ['Ed25519', 'Ed448'],
}

/** Whether a JWK carries private key material. */
export function hasPrivateMembers(jwk: Record<string, unknown>): boolean {
  return PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member))
}

/**
 * Imports one JWK as a verification key for the `allowed` algorithms, or says why it cannot be
 * used. Rules, in order:
 *
 * - private key material (`d`, `p`, `q` ...) -> `private` (callers refuse the whole set);
 * - `use` other than `sig` (RFC 7517 §4.2), `key_ops` without `verify` (§4.3) -> skipped;
 * - `kid` not a short string -> skipped;
 * - `alg` (§4.4) restricts the key to that one algorithm, which must fit the key type;
 * - `oct` keys only when `secrets` is set (a configured static key, never a fetched JWKS);
 * - the key material must import, and RSA keys must have 2048 bits or more.
 */
export function importJwk(
  jwk: unknown,
  allowed: readonly string[],
  secrets: boolean,
): PreparedKey | KeySkipReason {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return 'not_an_object'
  const members = jwk as Record<string, unknown>
  if (hasPrivateMembers(members)) return 'private'
  const { kty, kid, use, alg } = members
  const keyOps = members.key_ops
  if (use !== undefined && use !== 'sig') return 'use'
  if (
    keyOps !== undefined &&
    (!Array.isArray(keyOps) ||
      !keyOps.every((op) => typeof op === 'string') ||
      !keyOps.includes('verify'))
  ) {
    return 'key_ops'
  }
  if (kid !== undefined && !isKid(kid)) return 'invalid_kid'
  let candidates = allowed
  if (alg !== undefined) {
    if (!isSupportedAlgorithm(alg)) return 'unsupported_alg'
    if (ALGORITHMS.get(alg)?.family !== kty) return 'alg_mismatch'
    if (!allowed.includes(alg)) return 'not_allowed'
    candidates = [alg]
  }
  let key: KeyObject
  if (kty === 'oct') {
    if (!secrets) return 'symmetric'
    const bytes = typeof members.k === 'string' ? decodeBase64url(members.k) : null
    if (bytes === null) return 'invalid_key'
    key = createSecretKey(bytes)
  } else {
    const needed = typeof kty === 'string' ? PUBLIC_MEMBERS[kty] : undefined
    if (needed === undefined) return 'unsupported_key'
    const curves = SIGNING_CURVES[kty as string]
    // X25519 and X448 (RFC 8037 §3.2) are key-agreement keys, not signing keys.
    if (curves !== undefined && !curves.includes(members.crv as string)) return 'unsupported_key'
    const material: Record<string, unknown> = { kty }
    for (const name of needed) {
      const value = members[name]
      // node:crypto decodes base64url leniently; a JWK member must be canonical (RFC 7518 §6).
      if (typeof value !== 'string' || (name !== 'crv' && !isBase64url(value))) return 'invalid_key'
      material[name] = value
    }
    try {
      key = createPublicKey({ key: material as JsonWebKey, format: 'jwk' })
    } catch {
      return 'invalid_key'
    }
  }
  return prepareKey(key, kid, candidates)
}

/** Whether `value` can be a `kid`: a non-empty string of at most {@link MAX_KID_LENGTH} characters. */
export function isKid(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_KID_LENGTH
}

/**
 * A static key as configured: a PEM public key (SPKI) or X.509 certificate, a JWK or JWK Set
 * (object, or its JSON text), a node:crypto `KeyObject`, a WebCrypto `CryptoKey`. Shared secrets
 * are explicit: a secret `KeyObject`, an `oct` JWK, or bytes (a `Uint8Array`); better, the
 * `secret` option. A string is never taken as a secret: public key text pasted without its PEM
 * armor would otherwise become an HMAC key (algorithm confusion, RFC 8725 §2.1).
 *
 * @example
 * ```ts
 * const key: KeyInput = readFileSync('issuer-public.pem', 'utf8')
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7468#section-13 RFC 7468 §13 (PEM SubjectPublicKeyInfo)
 */
export type KeyInput =
  | string
  | Uint8Array
  | KeyObject
  | webcrypto.CryptoKey
  | JsonWebKey
  | { readonly keys: readonly JsonWebKey[] }

/**
 * A shared secret for `HS256`, `HS384` or `HS512`: its UTF-8 text, its bytes, or a secret
 * `KeyObject`. Text or bytes that are recognisably a key (PEM armor, JSON, DER of a public key or
 * certificate, or the base64 of such DER) are refused: they are public, so never a secret.
 *
 * @example
 * ```ts
 * const secret: SecretInput = process.env.JWT_HS256_SECRET as string
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.2 RFC 7518 §3.2 (HMAC with SHA-2)
 */
export type SecretInput = string | Uint8Array | KeyObject

// The global WebCrypto key class (not exported by node:crypto on Node 20).
const WebCryptoKey = (globalThis as unknown as { CryptoKey: abstract new () => unknown }).CryptoKey

const PEM = /-----BEGIN ([A-Z0-9 ]+)-----/
const BASE64_TEXT = /^[A-Za-z0-9+/_-]+={0,2}$/

const KEY_HINT =
  'must be a PEM public key or certificate (with its -----BEGIN----- line), a JWK or JWK Set ' +
  '(object or JSON text), a KeyObject or a CryptoKey; a shared secret for HS* goes in secret'

/**
 * Imports a configured static key synchronously, so that a mistake is a `TypeError` thrown when
 * the verifier is created, not a failure at the first request. Private keys are refused: a
 * resource server must never hold the key that signs its tokens.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming `option`.
 */
export function importStaticKey(
  input: unknown,
  allowed: readonly string[],
  option: string,
): PreparedKey[] {
  if (typeof input === 'string') {
    const label = PEM.exec(input)?.[1]
    if (label !== undefined) {
      return [fromKeyObject(importPem(input, label, option), allowed, option)]
    }
    if (input.trim() === '') throw invalidArgument(option, 'must not be empty')
    if (/^\s*[[{]/.test(input)) return importStaticKey(parseJson(input, option), allowed, option)
    throw invalidArgument(
      option,
      isPublicKeyText(input)
        ? 'is the base64 body of a public key or certificate without its PEM armor: add the ' +
            '-----BEGIN PUBLIC KEY----- (or CERTIFICATE) lines; it is never a shared secret'
        : `is text that is no key; it ${KEY_HINT}`,
    )
  }
  if (input instanceof KeyObject) return [fromKeyObject(input, allowed, option)]
  if (input instanceof WebCryptoKey) {
    return [fromKeyObject(KeyObject.from(input as webcrypto.CryptoKey), allowed, option)]
  }
  // Bytes are an explicit secret (kept for compatibility), under the rules of `secret`.
  if (input instanceof Uint8Array) return [importSecret(input, allowed, option)]
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidArgument(option, KEY_HINT)
  }
  const set = input as Record<string, unknown>
  if (set.kty === undefined && Array.isArray(set.keys)) {
    const keys: PreparedKey[] = []
    set.keys.forEach((jwk: unknown, index) => {
      const result = importJwk(jwk, allowed, true)
      // A set copied from an authorization server may hold encryption keys: those are left out.
      if (result === 'use' || result === 'key_ops') return
      keys.push(checked(result, `${option}.keys[${index}]`, allowed, jwk))
    })
    if (keys.length === 0) throw invalidArgument(option, 'holds no signature verification key')
    return keys
  }
  return [checked(importJwk(input, allowed, true), option, allowed, input)]
}

/**
 * Imports an explicit shared secret (the `secret` option).
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming `option`, for text or bytes that are a key.
 */
export function importSecret(
  input: unknown,
  allowed: readonly string[],
  option: string,
): PreparedKey {
  let bytes: Buffer
  if (typeof input === 'string') {
    bytes = Buffer.from(input, 'utf8')
  } else if (input instanceof Uint8Array) {
    bytes = Buffer.from(input)
  } else if (input instanceof KeyObject) {
    if (input.type !== 'secret') {
      throw invalidArgument(
        option,
        `is a ${input.type} key, not a shared secret; a public key goes in key`,
      )
    }
    return fromKeyObject(input, allowed, option)
  } else {
    throw invalidArgument(option, 'must be a string, a Uint8Array or a secret KeyObject')
  }
  if (bytes.length === 0) throw invalidArgument(option, 'must not be empty')
  const problem = publicKeyMaterial(bytes)
  if (problem !== undefined) {
    throw invalidArgument(
      option,
      `is ${problem}, which is public and never a shared secret (algorithm confusion, RFC 8725 §2.1)`,
    )
  }
  return fromKeyObject(createSecretKey(bytes), allowed, option)
}

/** What `bytes` recognisably are when they are key material (or its text), else `undefined`. */
function publicKeyMaterial(bytes: Buffer): string | undefined {
  if (isDerKey(bytes)) return 'the DER of a key or certificate'
  // A file saved with a byte order mark, or padded with blanks, is still the same key text.
  const text = bytes
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trim()
  if (text.includes('-----BEGIN')) return 'PEM text'
  if (isJsonText(text)) return 'JSON text (a JWK?)'
  if (isPublicKeyText(text)) return 'the base64 of a key or certificate'
  if (/^(?:[0-9a-fA-F]{2})+$/.test(text) && isDerKey(Buffer.from(text, 'hex'))) {
    return 'the hex of a key or certificate'
  }
  if (isBase64Text(text)) {
    const decoded = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
      .toString('utf8')
      .trim()
    if (isJsonText(decoded) || decoded.includes('-----BEGIN')) {
      return 'the base64 of key text (JSON or PEM)'
    }
  }
  return undefined
}

function isJsonText(text: string): boolean {
  if (!/^[[{]/.test(text)) return false
  // A JWK with something pasted after it does not parse, and is still a key.
  if (/"kty"\s*:/.test(text)) return true
  try {
    JSON.parse(text)
    return true
  } catch {
    // Not JSON: braces alone do not make a key.
    return false
  }
}

function isBase64Text(text: string): boolean {
  return text.length >= 16 && BASE64_TEXT.test(text)
}

/** Whether `text`, once whitespace is removed, is base64 (or base64url) of a DER key. */
function isPublicKeyText(text: string): boolean {
  const compact = text.replace(/\s+/g, '')
  if (compact.length < 40 || !BASE64_TEXT.test(compact)) return false
  const base64 = compact.replace(/-/g, '+').replace(/_/g, '/')
  return isDerKey(Buffer.from(base64, 'base64'))
}

// SPKI (RFC 5280 §4.1.2.7), PKCS #1 RSAPublicKey (RFC 8017 §A.1.1), X.509 certificates, and the
// private key encodings: any of them is a key, never a secret.
function isDerKey(bytes: Buffer): boolean {
  // Every such DER is a SEQUENCE (0x30); a random secret rarely starts so, and then it is parsed.
  if (bytes.length < 16 || bytes[0] !== 0x30) return false
  const attempts: Array<() => unknown> = [
    () => createPublicKey({ key: bytes, format: 'der', type: 'spki' }),
    () => createPublicKey({ key: bytes, format: 'der', type: 'pkcs1' }),
    () => new X509Certificate(bytes),
    () => createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' }),
  ]
  for (const attempt of attempts) {
    try {
      attempt()
      return true
    } catch {
      // Not this encoding; try the next.
    }
  }
  return false
}

function parseJson(text: string, option: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch (cause) {
    throw Object.assign(
      invalidArgument(option, 'is JSON text that does not parse (a JWK was expected)'),
      {
        cause,
      },
    )
  }
}

function importPem(pem: string, label: string, option: string): KeyObject {
  // Tolerate what copying a PEM around does to it: CRLF line ends and surrounding whitespace.
  const text = pem.replace(/\r\n?/g, '\n').trim()
  try {
    if (label === 'PUBLIC KEY') return createPublicKey({ key: text, format: 'pem' })
    if (label === 'CERTIFICATE') return new X509Certificate(text).publicKey
  } catch (cause) {
    throw Object.assign(invalidArgument(option, `is not a valid PEM ${label.toLowerCase()}`), {
      cause,
    })
  }
  if (label.includes('PRIVATE')) {
    throw invalidArgument(option, 'is a private key; configure the public key (SPKI) instead')
  }
  throw invalidArgument(
    option,
    `is a PEM ${label}; only PUBLIC KEY (SPKI) and CERTIFICATE are accepted`,
  )
}

function fromKeyObject(key: KeyObject, allowed: readonly string[], option: string): PreparedKey {
  return checked(prepareKey(key, undefined, allowed), option, allowed, key)
}

const PROBLEMS: Readonly<Record<Exclude<KeySkipReason, 'not_allowed'>, string>> = {
  not_an_object: 'must be a JWK object',
  private: 'is a private key; configure the public key instead',
  symmetric: 'is a shared secret, which is not accepted here',
  use: 'is not a signature key (use)',
  key_ops: 'does not allow verify (key_ops)',
  invalid_kid: `has a kid that is not a string of 1 to ${MAX_KID_LENGTH} characters`,
  unsupported_alg: 'names an alg that is not supported',
  alg_mismatch: 'names an alg that does not fit its key type',
  unsupported_key: 'is of a key type or curve that no JWS algorithm uses',
  invalid_key: 'is not a valid key',
  weak_key: 'is too weak (RSA keys need 2048 bits, HS* secrets at least as many bytes as the hash)',
}

/** The HMAC algorithms (RFC 7518 §3.2) in `algorithms`. */
export function hmacAlgorithms(algorithms: readonly string[]): string[] {
  return algorithms.filter((alg) => ALGORITHMS.get(alg)?.family === 'oct')
}

function checked(
  result: PreparedKey | KeySkipReason,
  option: string,
  allowed: readonly string[],
  input: unknown,
): PreparedKey {
  if (result instanceof PreparedKey) return result
  if (result !== 'not_allowed') throw invalidArgument(option, PROBLEMS[result])
  const secret =
    (input instanceof KeyObject && input.type === 'secret') ||
    (input as { kty?: unknown } | null)?.kty === 'oct'
  if (secret) {
    throw invalidArgument(
      option,
      'is a shared secret: it verifies only HS256, HS384 or HS512, and none is in options.algorithms',
    )
  }
  const hmac = hmacAlgorithms(allowed)
  throw invalidArgument(
    option,
    hmac.length > 0 && hmac.length === allowed.length
      ? `is a public key, and a public key cannot verify an HMAC algorithm (${hmac.join(', ')})`
      : 'fits none of options.algorithms',
  )
}
