import {
  createMemoryReplayStore,
  guardReplayStore,
  invalidArgument,
  TokenKey,
  readFunction,
  readInteger,
  readOptionsObject,
  readStoreTimeout,
  rejectUnknownOptions,
  type GuardedReplayStore,
  type ReplayStore,
  readClock,
} from '@bearerkit/core'
import {
  PROOF_ALGORITHMS,
  type ImportedKey,
  type ProofAlgorithm,
  type VerifyKey,
  decodeBase64urlText,
  decodeSignature,
  loadProof,
  importPublicKey,
  modulusLength,
  sha256Base64url,
  verifyKeyFor,
  verifySignature,
} from '../lib/dpop-crypto.js'
import type { DpopNonces } from './dpop-nonce.js'
import { htuMatches } from './htu.js'
import { thumbprintInput } from './jwk-thumbprint.js'

/** The algorithms accepted by default: asymmetric, widely implemented. */
export const DEFAULT_DPOP_ALGORITHMS: readonly string[] = Object.freeze([
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'RS256',
  'PS256',
])

/** Default for {@link DpopProofVerifierOptions.maxProofLength}: 8 KiB. */
export const DEFAULT_MAX_PROOF_LENGTH = 8192

/** Options of {@link createDpopProofVerifier}. */
export interface DpopProofVerifierOptions {
  /**
   * `alg` values accepted (and advertised as `dpop_signing_alg_values_supported`). Default
   * {@link DEFAULT_DPOP_ALGORITHMS}. Only asymmetric algorithms: `none` and HS* are refused here
   * (RFC 9449 §4.3 check 5).
   */
  readonly algorithms?: readonly string[]
  /** How old a proof's `iat` may be, in seconds. Default 60. */
  readonly maxAge?: number
  /** How far in the future a proof's `iat` may be, in seconds (clock skew). Default 5. */
  readonly clockTolerance?: number
  /** Longest proof accepted, in characters. Default 8 KiB. */
  readonly maxProofLength?: number
  /**
   * Where proof `jti`s are claimed once (RFC 9449 §11.1). Default: a bounded in-memory store,
   * which suits one instance; a fleet shares one (`@bearerkit/redis`), or a proof accepted by one
   * instance is accepted again by the next.
   */
  readonly replayStore?: ReplayStore
  /** Deadline of each replay store call, in milliseconds. Default 100. */
  readonly replayStoreTimeout?: number
  /** Stateless nonces (see `createDpopNonces`). Proofs carrying a nonce are checked with them. */
  readonly nonces?: DpopNonces
  /** Require a valid server nonce in every proof (RFC 9449 §9). Needs `nonces`. Default false. */
  readonly requireNonce?: boolean
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number
}

/** The request a proof is checked against. */
export interface DpopProofRequest {
  /** The HTTP method, as received (`GET`). */
  readonly method: string
  /** The absolute URI the client called (the public one, behind a proxy). */
  readonly url: string
  /**
   * The `DPoP` header field value(s): a string for one field line, an array when the framework
   * kept repeated lines apart. Anything but exactly one value is refused.
   */
  readonly proof: string | readonly string[] | null | undefined
  /** The access token presented with the proof: `ath` must be its hash (RFC 9449 §4.3 check 11). */
  readonly accessToken?: string
  /** Aborts the replay store call. */
  readonly signal?: AbortSignal
}

/** Stable reasons for a refused proof. */
export type DpopProofRefusalCode =
  | 'missing'
  | 'multiple'
  | 'too_large'
  | 'malformed'
  | 'wrong_type'
  | 'algorithm_not_allowed'
  | 'invalid_key'
  | 'private_key'
  | 'unsupported_critical_header'
  | 'bad_signature'
  | 'missing_claim'
  | 'wrong_method'
  | 'wrong_uri'
  | 'issued_in_future'
  | 'too_old'
  | 'wrong_token_hash'
  | 'nonce_required'
  | 'bad_nonce'
  | 'replayed'

/** An accepted proof. */
export interface DpopProofAccepted {
  readonly valid: true
  /** The RFC 7638 thumbprint of the proof key: compare it with the token's `cnf.jkt`. */
  readonly jkt: string
  readonly alg: string
  readonly jti: string
  readonly iat: number
}

/** A refused proof: answer 401 with `error` in a `DPoP` challenge (RFC 9449 §7.1, §9). */
export interface DpopProofRefused {
  readonly valid: false
  /** `use_dpop_nonce` when a fresh nonce would fix it (send `DPoP-Nonce`), else `invalid_dpop_proof`. */
  readonly error: 'invalid_dpop_proof' | 'use_dpop_nonce'
  readonly reason: DpopProofRefusalCode
  /** Fit for `error_description`; never contains the proof or the token. */
  readonly description: string
}

/** The answer of {@link DpopProofVerifier.verify}. */
export type DpopProofResult = DpopProofAccepted | DpopProofRefused

/** Checks DPoP proofs (RFC 9449 §4.3) for one resource server. */
export interface DpopProofVerifier {
  /** The accepted `alg` values, for `DPoP algs="..."` and the metadata document. */
  readonly algorithms: readonly string[]
  /** Whether every proof must carry a server nonce. */
  readonly requireNonce: boolean
  /** The nonce to send in `DPoP-Nonce` now, or `undefined` without nonces. */
  nonce(): string | undefined
  /**
   * Checks a proof. Resolves to the verdict; rejects with `VerifierUnavailableError` when the
   * replay store cannot answer (the proof is then neither accepted nor refused: 503).
   */
  verify(request: DpopProofRequest): Promise<DpopProofResult>
}

/**
 * A proof that passed every check of RFC 9449 §4.3 but the last: its `jti` is not claimed yet.
 *
 * @internal Not exported from the package.
 */
export interface DpopProofChecked extends DpopProofAccepted {
  /** Until when (seconds since the epoch) the claim of `jti` holds: the proof is too old then. */
  readonly replayUntil: number
  /** The clock's reading (milliseconds) when the proof was checked. */
  readonly checkedAt: number
}

/**
 * The checker behind a {@link DpopProofVerifier}, for the gate (not exported from the package).
 * The gate checks a proof in two steps, so that only the proof of an accepted token uses up a
 * replay store entry: `check` runs every check but the replay claim, and `claim` claims the `jti`
 * once the token is verified. `verifyNow` does both, like `verify`, but answers at once when the
 * replay store does (the built-in one always does), so a request pays for no promise. Each throws
 * or rejects with `VerifierUnavailableError` where `verify` rejects.
 */
export interface DpopProofChecker extends DpopProofVerifier {
  /**
   * Every check of RFC 9449 §4.3 but the replay claim; synchronous (throws if the clock does).
   * `tokenKey`, core's scanned key of `request.accessToken`, spares hashing the token again.
   */
  check(request: DpopProofRequest, tokenKey?: TokenKey): DpopProofChecked | DpopProofRefused
  /**
   * Claims the `jti` of a checked proof: `null` when this is its first use, the `replayed` refusal
   * when it was used before, `too_old` when the proof went out of its `iat` window since it was
   * checked (its claim would already have lapsed, so two copies could both pass). At once when the
   * replay store answers at once, else a promise. `sameTurn`: nothing was awaited since `check`
   * (the token was decided synchronously); with the built-in replay store, which keeps time by
   * the claims' readings, the clock is then not read again: the reading `check` took is the time
   * of the claim. A store of the user's keeps its own time, so its claims always read the clock.
   */
  claim(
    checked: DpopProofChecked,
    signal?: AbortSignal,
    sameTurn?: boolean,
  ): DpopProofRefused | null | Promise<DpopProofRefused | null>
  verifyNow(request: DpopProofRequest): DpopProofResult | Promise<DpopProofResult>
}

const OPTIONS: ReadonlySet<string> = new Set([
  'algorithms',
  'maxAge',
  'clockTolerance',
  'maxProofLength',
  'replayStore',
  'replayStoreTimeout',
  'nonces',
  'requireNonce',
  'now',
])

// RFC 7517 §4 and RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2: members only a private key has.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

// RFC 7518 §3.3: RSA keys of 2048 bits or more.
const MIN_RSA_BITS = 2048
const MAX_JTI_LENGTH = 256
// Checked headers kept per verifier, and the longest one kept (an RSA-4096 header is ~1 KiB).
const MAX_CACHED_HEADERS = 1000
const MAX_CACHED_HEADER = 2048

const refuse = (
  reason: DpopProofRefusalCode,
  description: string,
  error: DpopProofRefused['error'] = 'invalid_dpop_proof',
): DpopProofRefused => Object.freeze({ valid: false, error, reason, description })

/**
 * Creates the checker of DPoP proofs for a resource server, implementing every check of RFC 9449
 * §4.3 in its order: one `DPoP` field; a compact JWS within the size limit; `typ` `dpop+jwt`; an
 * allowed asymmetric `alg`; a public `jwk` (private members refused) that verifies the signature;
 * `jti`, `htm`, `htu`, `iat` (or a server nonce, §9); `ath` against the presented token; and,
 * last, `jti` claimed once in the replay store. Comparing the returned `jkt` with the token's
 * `cnf.jkt` (§6.1) is the token verifier's part.
 *
 * `verify` claims the `jti` as it checks: call it once the access token itself is verified (and
 * compare `jkt` with its `cnf.jkt` then), or anyone could fill the replay store with proofs they
 * signed for tokens they made up. The gate does so.
 *
 * Not checked: anything the proof carries beyond these claims.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3 RFC 9449 §4.3 (checking DPoP proofs)
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-11.1 RFC 9449 §11.1 (replay)
 * @example
 * ```ts
 * const proofs = createDpopProofVerifier({ replayStore })
 * const result = await proofs.verify({ method: 'GET', url, proof: headers.get('dpop'), accessToken })
 * if (!result.valid) return challenge(result.error, result.description)
 * ```
 */
export function createDpopProofVerifier(options?: DpopProofVerifierOptions): DpopProofVerifier {
  const checker = createDpopProofChecker(options)
  return Object.freeze({
    algorithms: checker.algorithms,
    requireNonce: checker.requireNonce,
    nonce: () => checker.nonce(),
    verify: (request: DpopProofRequest) => checker.verify(request),
  })
}

/**
 * {@link createDpopProofVerifier} with the gate's `verifyNow` (see {@link DpopProofChecker}).
 *
 * @internal Not exported from the package.
 */
export function createDpopProofChecker(options?: DpopProofVerifierOptions): DpopProofChecker {
  const input = readOptionsObject('options', options)
  rejectUnknownOptions('options', input, OPTIONS)
  const algorithms = readAlgorithms(input.algorithms)
  const allowed = new Set(algorithms)
  const maxAge = readInteger('options.maxAge', input.maxAge, 60, 1)
  const clockTolerance = readInteger('options.clockTolerance', input.clockTolerance, 5, 0)
  const maxProofLength = readInteger(
    'options.maxProofLength',
    input.maxProofLength,
    DEFAULT_MAX_PROOF_LENGTH,
    64,
  )
  const now = readFunction<() => number>('options.now', input.now) ?? Date.now
  const timeout = readStoreTimeout('options.replayStoreTimeout', input.replayStoreTimeout)
  const given = input.replayStore as ReplayStore | undefined
  // A store of the user's may hang, throw or answer garbage: it goes through core's guard
  // (deadline, type check, 503). The built-in one answers synchronously and is called directly,
  // which spares a timer per request.
  // The built-in store reads the time the claim just read (a clock read costs 0.1 us on some
  // virtual machines); set right before each call, with no other code in between.
  let claimedAt = 0
  const markUsed: (key: string, until: number, signal?: AbortSignal) => boolean | Promise<boolean> =
    given === undefined
      ? memoryMarkUsed(createMemoryReplayStore({ now: () => claimedAt }))
      : guardedMarkUsed(guardReplayStore(given, { timeout }))
  const nonces = input.nonces as DpopNonces | undefined
  if (
    nonces !== undefined &&
    (typeof nonces !== 'object' ||
      nonces === null ||
      typeof nonces.issue !== 'function' ||
      typeof nonces.verify !== 'function')
  ) {
    throw invalidArgument('options.nonces', 'must come from createDpopNonces()')
  }
  const requireNonce = input.requireNonce === true
  if (input.requireNonce !== undefined && typeof input.requireNonce !== 'boolean') {
    throw invalidArgument('options.requireNonce', 'must be true or false')
  }
  if (requireNonce && nonces === undefined) {
    throw invalidArgument('options.requireNonce', 'needs `nonces` (createDpopNonces())')
  }

  const nonceRefusal = (reason: 'nonce_required' | 'bad_nonce'): DpopProofRefused =>
    refuse(
      reason,
      reason === 'nonce_required'
        ? 'The DPoP proof must carry the server nonce'
        : 'The DPoP proof carries a stale or unknown nonce',
      'use_dpop_nonce',
    )

  const headers = new Map<string, ProofHeader>()
  let last: { readonly segment: string; readonly header: ProofHeader } | null = null

  // §4.3 checks 2, 4 to 7 on the protected header: JSON, typ, alg, crit, a public jwk.
  const checkHeader = (segment: string): ProofHeader | DpopProofRefused => {
    // A segment of a proof that loadProof found ASCII without `+` or `/`.
    const header = decodeJson(segment, true)
    if (header === null) return refuse('malformed', 'The DPoP proof is not a compact JWS')
    // §4.3 check 4: typ (media types compare case-insensitively, RFC 7515 §4.1.9).
    if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'dpop+jwt') {
      return refuse('wrong_type', 'The DPoP proof must have typ dpop+jwt')
    }
    // §4.3 check 5: an asymmetric algorithm we allow.
    const alg = header.alg
    const algorithm = typeof alg === 'string' && allowed.has(alg) ? PROOF_ALGORITHMS.get(alg) : null
    if (algorithm === null || algorithm === undefined) {
      return refuse('algorithm_not_allowed', 'The DPoP proof algorithm is not accepted')
    }
    if (header.crit !== undefined) {
      // RFC 7515 §4.1.11: we understand no extension, so any `crit` makes the JWS invalid.
      return refuse('unsupported_critical_header', 'The DPoP proof has a critical header')
    }
    // §4.3 checks 6 and 7: the jwk is a public key (it then has to verify the signature).
    const jwk = header.jwk
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
      return refuse('invalid_key', 'The DPoP proof must carry its public key in jwk')
    }
    const members = jwk as Record<string, unknown>
    for (const name of PRIVATE_MEMBERS) {
      if (Object.hasOwn(members, name)) {
        return refuse('private_key', 'The DPoP proof jwk must not contain private key members')
      }
    }
    const thumbprint = thumbprintInput(members)
    if (
      thumbprint === null ||
      members.kty !== algorithm.kty ||
      (algorithm.curves.length !== 0 && !algorithm.curves.includes(members.crv as string)) ||
      (members.alg !== undefined && members.alg !== alg)
    ) {
      return refuse('invalid_key', 'The DPoP proof jwk does not fit its algorithm')
    }
    const key = importPublicKey(thumbprint.canonical, thumbprint.members)
    if (key === null || (algorithm.kty === 'RSA' && modulusLength(key.key) < MIN_RSA_BITS)) {
      return refuse('invalid_key', 'The DPoP proof jwk is not a usable public key')
    }
    return {
      valid: true,
      alg: alg as string,
      algorithm,
      key,
      verifyKey: verifyKeyFor(algorithm, key.key),
    }
  }

  // A clock that gives no number would pass every iat and claim check: 503 (core's readClock).
  const readNow = (): number => readClock(now, 'the DPoP proof')

  const check = (
    request: DpopProofRequest,
    tokenKey?: TokenKey,
  ): DpopProofRefused | DpopProofChecked => {
    // §4.3 check 1: exactly one DPoP field. Node joins repeated fields with ", " and a compact
    // JWS has no comma, so a comma means two fields.
    const field = request.proof
    let proof: string
    if (typeof field === 'string') proof = field
    else if (Array.isArray(field) && field.length === 1 && typeof field[0] === 'string') {
      proof = field[0]
    } else if (
      field === undefined ||
      field === null ||
      (Array.isArray(field) && field.length === 0)
    ) {
      return refuse('missing', 'The request has no DPoP proof')
    } else return refuse('multiple', 'The request has more than one DPoP proof')
    if (proof.length > maxProofLength) return refuse('too_large', 'The DPoP proof is too large')

    // §4.3 check 2: a well-formed JWT. A comma, which no segment may hold, makes each malformed
    // proof "more than one" instead: every proof with a comma is refused as malformed before any
    // other check, so looking for one only then spares a scan of every good proof.
    const first = proof.indexOf('.')
    const second = first === -1 ? -1 : proof.indexOf('.', first + 1)
    if (second === -1 || proof.indexOf('.', second + 1) !== -1) return malformed(proof)
    // Its bytes, for the signing input; ASCII without `+` or `/`, or no segment is base64url
    // (one look at the whole proof spares one per segment).
    if (!loadProof(proof)) return malformed(proof)
    let header: ProofHeader | undefined
    const segment = proof.slice(0, first)
    const recent = last
    // The header of the previous proof first: comparing the text costs less than hashing it
    // for the map (a header is public, so an early-stopping comparison leaks nothing). `===` on
    // the slice, not `startsWith`: V8 compares strings with `===` in bulk and `startsWith` a
    // character at a time (about 0.1 against 0.9 us for the 250 characters of an ES256 header).
    if (recent !== null && segment === recent.segment) {
      header = recent.header
    } else {
      header = headers.get(segment)
      if (header === undefined) {
        const checked = checkHeader(segment)
        if (checked.valid === false) {
          return checked.reason === 'malformed' ? malformed(proof) : checked
        }
        header = checked
        if (segment.length <= MAX_CACHED_HEADER) {
          // A client signs every proof with one key, so its header repeats: parsing it,
          // checking it and importing its key once spares most of the per-proof work beyond
          // the signature.
          if (headers.size >= MAX_CACHED_HEADERS) headers.clear()
          headers.set(segment, header)
          last = { segment, header }
        }
      } else last = { segment, header }
    }
    const claims = decodeJson(proof.slice(first + 1, second), true)
    const signature = decodeSignature(proof, second + 1, true)
    if (claims === null || signature === null || signature.length === 0) return malformed(proof)
    const { alg, algorithm, key } = header
    if (!verifySignature(algorithm, header.verifyKey, proof, second, signature)) {
      return refuse('bad_signature', 'The DPoP proof signature is invalid')
    }

    // §4.3 check 8 (claims): jti, htm, htu, iat.
    const { jti, htm, htu, iat } = claims
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) {
      return refuse('missing_claim', 'The DPoP proof must carry a jti')
    }
    if (typeof htm !== 'string' || typeof htu !== 'string' || typeof iat !== 'number') {
      return refuse('missing_claim', 'The DPoP proof must carry htm, htu and iat')
    }
    // §4.3 check 8: htm is the method, compared exactly (RFC 9110 §9.1: methods are case-sensitive).
    if (htm !== request.method) {
      return refuse('wrong_method', 'The DPoP proof was made for another HTTP method')
    }
    // §4.3 check 9: htu is the request URI, query and fragment ignored, after normalisation.
    if (!htuMatches(htu, request.url)) {
      return refuse('wrong_uri', 'The DPoP proof was made for another URI')
    }
    // §4.3 check 10 and §9: a server nonce, when we gave one or require one.
    const nonce = claims.nonce
    if (nonce !== undefined) {
      if (nonces === undefined || typeof nonce !== 'string' || !nonces.verify(nonce)) {
        return nonces === undefined
          ? refuse('bad_nonce', 'The DPoP proof carries a nonce this server did not issue')
          : nonceRefusal('bad_nonce')
      }
    } else if (requireNonce) return nonceRefusal('nonce_required')
    // §4.3 check 11: iat within an acceptable window (§11.1), exact seconds on both edges.
    const checkedAt = readNow()
    const at = Math.floor(checkedAt / 1000)
    if (!Number.isFinite(iat)) return refuse('missing_claim', 'The DPoP proof iat is not a number')
    if (iat > at + clockTolerance) {
      return refuse('issued_in_future', 'The DPoP proof was issued in the future')
    }
    if (iat < at - maxAge) return refuse('too_old', 'The DPoP proof is too old')
    // §4.3 check 12: ath binds the proof to the presented access token (§7).
    if (request.accessToken !== undefined) {
      if (typeof claims.ath !== 'string') {
        return refuse('missing_claim', 'The DPoP proof must carry ath')
      }
      if (claims.ath !== tokenHash(request.accessToken, tokenKey)) {
        return refuse('wrong_token_hash', 'The DPoP proof was made for another access token')
      }
    }
    return {
      valid: true,
      jkt: key.thumbprint,
      alg,
      jti,
      iat,
      // Held until the proof can no longer pass the iat check; one second more for the boundary.
      replayUntil: Math.floor(iat) + maxAge + 1,
      checkedAt,
    }
  }

  const replayed = refuse('replayed', 'The DPoP proof was already used')
  const stale = refuse('too_old', 'The DPoP proof is too old')
  const claimed = (first: boolean): DpopProofRefused | null => (first ? null : replayed)

  const claim = (
    checked: DpopProofChecked,
    signal?: AbortSignal,
    sameTurn = false,
  ): DpopProofRefused | null | Promise<DpopProofRefused | null> => {
    // The token was verified between the check and this claim, which may have taken a while: a
    // proof past its iat window now would be held by the store for no time at all, and a copy of
    // it claimed at the same moment would pass too. When nothing was awaited in between and the
    // store is the built-in one, the check's reading is the time (one clock read per request:
    // about 0.1 us on some virtual machines), or the time of the last claim if that is later:
    // synchronous code between the check and this claim (a verifier, a validate hook) may have
    // made another request claim meanwhile, at a later reading, and the store, which drops what
    // expired by the time it is given, must never see time go back (a claim dated before the one
    // that dropped this proof's jti would find it free). A store of the user's (Redis) expires
    // keys by its own clock: a claim dated at its check after a slow synchronous verifier would
    // hand it a proof whose window closed meanwhile, which it holds for no time, and a copy
    // claimed on another instance would pass too. Its claims read the clock.
    const at = sameTurn && given === undefined ? Math.max(checked.checkedAt, claimedAt) : readNow()
    if (at >= checked.replayUntil * 1000) return stale
    claimedAt = at
    // Keyed by the key too: one client's jti cannot collide with (or be pre-claimed for)
    // another's.
    const first = markUsed(`dpop ${checked.jkt} ${checked.jti}`, checked.replayUntil, signal)
    return typeof first === 'boolean' ? claimed(first) : first.then(claimed)
  }

  const settle = (checked: DpopProofChecked, refusal: DpopProofRefused | null): DpopProofResult =>
    refusal === null
      ? Object.freeze({
          valid: true,
          jkt: checked.jkt,
          alg: checked.alg,
          jti: checked.jti,
          iat: checked.iat,
        })
      : refusal

  const verifyNow = (request: DpopProofRequest): DpopProofResult | Promise<DpopProofResult> => {
    const checked = check(request)
    if (!checked.valid) return checked
    // Last, so that a refused proof never uses up its jti.
    const refusal = claim(checked, request.signal, true)
    return refusal instanceof Promise
      ? refusal.then((answer) => settle(checked, answer))
      : settle(checked, refusal)
  }

  return Object.freeze({
    algorithms,
    requireNonce,
    nonce: () => nonces?.issue(),
    check,
    claim,
    verifyNow,
    verify(request: DpopProofRequest): Promise<DpopProofResult> {
      try {
        return Promise.resolve(verifyNow(request))
      } catch (error) {
        // The same rejection an async function gives: verify never throws.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        return Promise.reject(error)
      }
    },
  })
}

interface ProofHeader {
  readonly valid: true
  readonly alg: string
  readonly algorithm: ProofAlgorithm
  readonly key: ImportedKey
  readonly verifyKey: VerifyKey
}

// The ath of each access token seen lately: a client sends one token with many proofs, and its
// SHA-256 costs about a microsecond for a 750-character JWT. Keyed by core's per-process keyed
// hash of the token, never by the token or by anything a client can aim at another's entry with;
// an entry answers only for a token equal to its own (a key collision is a miss).
const MAX_TOKEN_HASHES = 1000
const MAX_HASHED_TOKEN = 4096
const tokenHashes = new Map<string, { readonly token: string; readonly ath: string }>()

/** base64url(SHA-256(token)), the `ath` a proof for `token` carries (RFC 9449 §4.2). */
function tokenHash(token: string, tokenKey: TokenKey | undefined): string {
  if (token.length > MAX_HASHED_TOKEN) return sha256Base64url(token)
  // The key the gate computed while it checked the token's syntax, when it was made for this
  // very token; else the same key computed here.
  const key = TokenKey.of(token, tokenKey)
  const known = tokenHashes.get(key)
  if (known !== undefined && known.token === token) return known.ath
  const ath = sha256Base64url(token)
  if (known === undefined && tokenHashes.size >= MAX_TOKEN_HASHES) {
    // Drop the oldest entry; a Map iterates in insertion order.
    tokenHashes.delete(tokenHashes.keys().next().value as string)
  }
  tokenHashes.set(key, { token, ath })
  return ath
}

const malformed = (proof: string): DpopProofRefused =>
  proof.includes(',')
    ? refuse('multiple', 'The request has more than one DPoP proof')
    : refuse('malformed', 'The DPoP proof is not a compact JWS')

function memoryMarkUsed(store: ReplayStore): (key: string, until: number) => boolean {
  return (key, until) => store.markUsed(key, until) as boolean
}

function guardedMarkUsed(
  store: GuardedReplayStore,
): (key: string, until: number, signal?: AbortSignal) => Promise<boolean> {
  return (key, until, signal) =>
    store.markUsed(key, until, signal === undefined ? undefined : { signal })
}

function readAlgorithms(value: unknown): readonly string[] {
  if (value === undefined) return DEFAULT_DPOP_ALGORITHMS
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidArgument('options.algorithms', 'must be a non-empty array of algorithm names')
  }
  for (const alg of value as unknown[]) {
    if (typeof alg !== 'string' || !PROOF_ALGORITHMS.has(alg)) {
      throw invalidArgument(
        'options.algorithms',
        `may only hold asymmetric algorithms (${[...PROOF_ALGORITHMS.keys()].join(', ')}): ${String(alg)} is not one`,
      )
    }
  }
  return Object.freeze([...new Set(value as string[])])
}

function decodeJson(segment: string, checked: boolean): Record<string, unknown> | null {
  const json = decodeBase64urlText(segment, checked)
  if (json === null) return null
  try {
    const value: unknown = JSON.parse(json)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null
  } catch {
    return null
  }
}
