import {
  Refusal,
  VerifierUnavailableError,
  isPromiseLike,
  isVerifierUnavailable,
  raceAbort,
  safeClaims,
} from '@bearerkit/core'
import type { KeyResolver, KeysOrRefusal, VerificationKey } from '../key-resolver.js'
import type { JwsHeader, VerifiedJws } from '../verify-jws.js'
import { isKid } from './import-key.js'
import { MAX_KID_LENGTH, PreparedKey } from './prepared-key.js'
import { MAX_TOKEN_BYTES, REGISTERED_HEADERS, type JwsSettings } from './resolve-options.js'
import {
  acquireScratch,
  loadToken,
  readJsonSegment,
  readSignature,
  releaseScratch,
  signingInput,
} from './token-bytes.js'

/**
 * Default {@link JwsVerifierOptions.maxLength}: 64 KiB.
 *
 * @example
 * ```ts
 * createJwsVerifier({ keys, types: null, maxLength: DEFAULT_MAX_TOKEN_BYTES / 4 })
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc8725 RFC 8725 (JWT best current practices)
 */
export const DEFAULT_MAX_TOKEN_BYTES = MAX_TOKEN_BYTES

const MAX_HEADER_LENGTH = 8 * 1024
const HEADER_CACHE_SIZE = 32
const MAX_CACHED_HEADER_LENGTH = 1024

/**
 * A `typ` as a media type: lower case, `application/` prepended when it has no `/`.
 *
 * @example
 * ```ts
 * normalizeType('AT+JWT') // 'application/at+jwt'
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-4.1.9 RFC 7515 §4.1.9 (`typ`)
 */
export function normalizeType(typ: string): string {
  const lower = typ.toLowerCase()
  return lower.includes('/') ? lower : `application/${lower}`
}

const refusals = {
  tooLarge: new Refusal('malformed', 'The token is too large'),
  segments: new Refusal('malformed', 'The token is not a compact JWS of three segments'),
  jwe: new Refusal('unsupported_token', 'Encrypted tokens (JWE) are not supported'),
  header: new Refusal('malformed', 'The token header is not a base64url-encoded JSON object'),
  headerSize: new Refusal('malformed', 'The token header is too large'),
  alg: new Refusal('malformed', 'The token header has no alg'),
  none: new Refusal('algorithm_not_allowed', 'Unsecured tokens (alg none) are never accepted'),
  notAllowed: new Refusal('algorithm_not_allowed', 'The token algorithm is not allowed'),
  kid: new Refusal(
    'malformed',
    `The token kid is not a string of 1 to ${MAX_KID_LENGTH} characters`,
  ),
  typ: new Refusal('malformed', 'The token typ is not a string'),
  type: new Refusal('wrong_type', 'The token type (typ) is not accepted'),
  nested: new Refusal('unsupported_token', 'Nested tokens (cty JWT) are not supported'),
  crit: new Refusal('malformed', 'The token crit header is not valid'),
  critUnknown: new Refusal(
    'unsupported_critical_header',
    'The token names a critical header parameter that is not understood',
  ),
  b64: new Refusal('malformed', 'The token b64 header parameter is not valid'),
  payload: new Refusal('malformed', 'The token payload is not a base64url-encoded JSON object'),
  signature: new Refusal('malformed', 'The token signature is not base64url'),
  badSignature: new Refusal('bad_signature', 'The token signature is invalid'),
}

/** A JWS check that answers synchronously when no key has to be fetched. */
export type JwsCheck = (
  token: string,
  signal: AbortSignal | undefined,
) => VerifiedJws | Refusal | PromiseLike<VerifiedJws | Refusal>

/**
 * The check behind `createJwsVerifier`, from settings already read (see resolve-options.ts). It
 * answers synchronously when the keys are at hand, which saves the JWT verifier a round through
 * the microtask queue.
 */
export function createJwsCheck(settings: JwsSettings): JwsCheck {
  const { keys, algorithms: allowed, criticalHeaders: critical, maxLength } = settings
  const types = settings.types === null ? null : new Set(settings.types.map(normalizeType))
  const headers = new Map<string, JwsHeader>()
  // The entry of the last header found or parsed, one of those in `headers`: the tokens of one
  // issuer nearly always share their header, and comparing its text costs less than hashing the
  // header text of every token (a new string each time) for the Map.
  let lastText = ''
  let lastHeader: JwsHeader | undefined

  const parseHeader = (
    scratch: Buffer,
    token: string,
    end: number,
    clean: boolean,
  ): JwsHeader | Refusal => {
    if (end > MAX_HEADER_LENGTH) return refusals.headerSize
    const header = readJsonSegment(scratch, token, 0, end, clean)
    if (header === null) return refusals.header
    const { alg, kid, typ, cty, crit, b64 } = header
    if (typeof alg !== 'string') return refusals.alg
    if (alg.toLowerCase() === 'none') return refusals.none
    if (!allowed.has(alg)) return refusals.notAllowed
    if (kid !== undefined && !isKid(kid)) return refusals.kid
    if (typ !== undefined && typeof typ !== 'string') return refusals.typ
    if (types !== null && (typ === undefined || !types.has(normalizeType(typ)))) {
      return refusals.type
    }
    // RFC 7519 §5.2: cty JWT announces a nested JWT, which would need a second verification.
    if (typeof cty === 'string' && normalizeType(cty) === 'application/jwt') return refusals.nested
    if (crit !== undefined) {
      if (
        !Array.isArray(crit) ||
        crit.length === 0 ||
        new Set(crit).size !== crit.length ||
        !crit.every(
          (name) =>
            typeof name === 'string' &&
            !REGISTERED_HEADERS.has(name) &&
            Object.hasOwn(header, name),
        )
      ) {
        return refusals.crit
      }
      if (!(crit as string[]).every((name) => critical.has(name))) return refusals.critUnknown
    }
    // RFC 7797 §3: b64 false changes what is signed; only the default (true) is supported, and
    // b64 false without crit is malformed (§6).
    if (b64 !== undefined && b64 !== true) return refusals.b64
    // Parsed headers are shared by every token with the same header text: nothing in one may be
    // changed by code that sees it (a validate hook), nested values included.
    const frozen = safeClaims(header)
    for (const value of Object.values(frozen)) deepFreeze(value)
    return frozen as JwsHeader
  }

  const check: JwsCheck = (token, signal) => {
    if (typeof token !== 'string') return refusals.segments
    if (token.length > maxLength) return refusals.tooLarge
    const first = token.indexOf('.')
    const second = first === -1 ? -1 : token.indexOf('.', first + 1)
    if (second === -1) return refusals.segments
    const third = token.indexOf('.', second + 1)
    if (third !== -1) {
      return token.split('.').length === 5 ? refusals.jwe : refusals.segments
    }
    // The token's bytes live in scratch space from here to the end of the signature check, a
    // stretch without an await; the buffer is held until then, so that user code called in
    // between (the key resolver, a custom key) cannot overwrite it by verifying another token.
    const scratch = acquireScratch(token.length)
    try {
      const clean = loadToken(scratch, token)
      const headerSegment = token.slice(0, first)
      let header = headerSegment === lastText ? lastHeader : undefined
      if (header === undefined) {
        header = headers.get(headerSegment)
        if (header === undefined) {
          const parsed = parseHeader(scratch, token, first, clean)
          if (parsed instanceof Refusal) return parsed
          header = parsed
          if (headerSegment.length <= MAX_CACHED_HEADER_LENGTH) {
            if (headers.size >= HEADER_CACHE_SIZE) headers.clear()
            headers.set(headerSegment, header)
            lastText = headerSegment
            lastHeader = header
          }
        } else {
          lastText = headerSegment
          lastHeader = header
        }
      }
      const payload = readJsonSegment(scratch, token, first + 1, second, clean)
      if (payload === null) return refusals.payload
      const signature = readSignature(scratch, token, second + 1, clean)
      if (signature === null) return refusals.signature
      // Every segment is canonical base64url, so the token is ASCII and its bytes are loaded.
      const found = resolveKeys(keys, header, payload, signal)
      // Keys at hand (a static key, a fresh JWKS) are used without a detour through the
      // microtask queue; only a fetch makes the verification wait, after which the token is
      // loaded again.
      if (!(found instanceof Promise)) {
        return checkSignature(header, payload, signingInput(scratch, second), signature, found)
      }
      const known = header
      return found.then((resolved) => {
        const again = acquireScratch(token.length)
        try {
          loadToken(again, token)
          const bytes = readSignature(again, token, second + 1, true) as Uint8Array
          return checkSignature(known, payload, signingInput(again, second), bytes, resolved)
        } finally {
          releaseScratch(again)
        }
      })
    } finally {
      releaseScratch(scratch)
    }
  }
  return check
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null) return
  Object.freeze(value)
  for (const nested of Object.values(value)) deepFreeze(nested)
}

/**
 * Asks the resolver for keys. A resolver is user code (public API): whatever it throws, or answers
 * that is neither keys nor a `Refusal`, means that no decision can be made, so it becomes a
 * `VerifierUnavailableError` (503), never a refusal and never an acceptance. A promise-like
 * answer is adopted by a real promise, so that a hostile thenable cannot call back twice or
 * synchronously.
 */
function resolveKeys(
  keys: KeyResolver,
  header: JwsHeader,
  payload: Record<string, unknown>,
  signal: AbortSignal | undefined,
): KeysOrRefusal | Promise<KeysOrRefusal> {
  let found: unknown
  try {
    found = keys.resolve(header, payload, signal)
    if (isPromiseLike(found)) {
      // A resolver that ignores the signal must not hold the caller past its abort; what it
      // answers after that is dropped, a rejection included.
      const adopted = Promise.resolve(found)
      adopted.catch(() => undefined)
      return raceAbort(adopted, signal).then(checkAnswer, (error: unknown) => {
        throw resolverFailure(error, signal)
      })
    }
  } catch (error) {
    throw resolverFailure(error, signal)
  }
  return checkAnswer(found)
}

function checkAnswer(found: unknown): KeysOrRefusal {
  if (found instanceof Refusal) return found
  if (Array.isArray(found) && allVerificationKeys(found)) return found
  throw new VerifierUnavailableError('The key resolver answered neither keys nor a Refusal', {
    reason: 'key_resolver',
  })
}

function allVerificationKeys(found: readonly unknown[]): found is VerificationKey[] {
  // A loop, not `every` with a callback: this runs on every verification.
  for (const value of found) {
    if (value instanceof PreparedKey) continue
    if (typeof (value as { verify?: unknown } | null)?.verify !== 'function') return false
  }
  return true
}

function resolverFailure(error: unknown, signal?: AbortSignal): unknown {
  // The caller's own abort is passed on as it is, like a VerifierUnavailableError.
  if (isVerifierUnavailable(error) || (signal?.aborted === true && error === signal.reason)) {
    return error
  }
  return new VerifierUnavailableError('The key resolver failed', {
    reason: 'key_resolver',
    cause: error,
  })
}

function checkSignature(
  header: JwsHeader,
  payload: Record<string, unknown>,
  data: Uint8Array,
  signature: Uint8Array,
  found: KeysOrRefusal,
): VerifiedJws | Refusal {
  if (found instanceof Refusal) return found
  for (const key of found) {
    // Exactly `true`: a custom key whose verify is async answers a promise, which is truthy.
    if (verifyWith(key, header.alg, data, signature)) return { header, payload, key }
  }
  return refusals.badSignature
}

function verifyWith(
  key: VerificationKey,
  alg: string,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (key instanceof PreparedKey) return key.verify(alg, data, signature)
  try {
    return key.verify(alg, data, signature) === true
  } catch (error) {
    // A custom key that cannot check a signature leaves the question open (503).
    throw resolverFailure(error)
  }
}
