import {
  formatChallenge,
  invalidArgument,
  readBoolean,
  readOptionsObject,
  rejectUnknownOptions,
  type ReplayStore,
  type TokenKey,
} from '@bearerkit/core'
import { certificateThumbprint } from './certificate-thumbprint.js'
import { parseClientCertHeader } from './client-cert-header.js'
import { createDpopNonces } from './dpop-nonce.js'
import {
  createDpopProofChecker,
  type DpopProofChecked,
  type DpopProofChecker,
  type DpopProofRefusalCode,
  type DpopProofRefused,
} from './dpop-proof-verifier.js'
import { normalizeHtu } from './htu.js'

/**
 * DPoP at the resource server (RFC 9449): the `dpop` option of the gate. `true` takes every
 * default.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7 RFC 9449 §7
 */
export interface DpopOptions {
  /**
   * Refuse the Bearer scheme: every token must be DPoP-bound and come with its proof. Published as
   * `dpop_bound_access_tokens_required`. Default `false`: Bearer and DPoP are both accepted, and a
   * DPoP-bound token sent as Bearer is refused (RFC 9449 §7.2).
   */
  readonly required?: boolean | undefined
  /** Accepted proof algorithms (asymmetric only). Default ES256, ES384, ES512, EdDSA, RS256, PS256. */
  readonly algorithms?: readonly string[] | undefined
  /** How old a proof's `iat` may be, in seconds. Default 60. */
  readonly maxAge?: number | undefined
  /** How far in the future a proof's `iat` may be, in seconds. Default 5. */
  readonly clockTolerance?: number | undefined
  /** Longest proof accepted, in characters. Default 8 KiB. */
  readonly maxProofLength?: number | undefined
  /** Where proof `jti`s are claimed once. Default in-memory; a fleet must share one. */
  readonly replayStore?: ReplayStore | undefined
  /** Deadline of each replay store call, in milliseconds. Default 100. */
  readonly replayStoreTimeout?: number | undefined
  /**
   * Secret(s) of the stateless server nonces (RFC 9449 §9), 32 bytes or more; the first issues,
   * all are accepted (rotation). Shared by every instance of a fleet.
   */
  readonly nonceSecret?: string | Uint8Array | readonly (string | Uint8Array)[] | undefined
  /** Seconds per nonce step. Default 60. */
  readonly nonceStep?: number | undefined
  /** Demand a server nonce in every proof. Needs `nonceSecret`. Default `false`. */
  readonly requireNonce?: boolean | undefined
  /**
   * The public origin clients call (`https://api.example.com`), for the `htu` check behind a
   * proxy or load balancer. Default: the origin of the request URL the adapter gives, which an
   * adapter takes from its framework (Fastify's `trustProxy` decides whether `X-Forwarded-*`
   * headers count). A relative request URL without this option cannot be checked: the proof is
   * refused, because the `Host` header alone is the client's word.
   */
  readonly publicOrigin?: string | undefined
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  readonly now?: (() => number) | undefined
}

/**
 * Certificate-bound tokens (RFC 8705 §3): the `mtls` option of the gate. `true` takes every
 * default: the certificate comes from the TLS connection (the adapter passes it).
 */
export interface MtlsOptions {
  /**
   * Also read the certificate from the RFC 9440 `Client-Cert` header, for TLS terminated by a
   * proxy. Only for requests whose connection comes from one of `trustedProxies`: anyone else
   * could send any certificate in it. Default `false`.
   */
  readonly clientCertHeader?: boolean
  /**
   * Addresses of the TLS-terminating proxies whose `Client-Cert` header is believed (compared
   * with the connection's remote address; `::ffff:10.0.0.2` is `10.0.0.2`). Required with
   * `clientCertHeader`.
   */
  readonly trustedProxies?: readonly string[]
}

/** The proof context verifiers check `cnf` against (core's `VerifyOptions.senderConstraint`). */
export interface ProofContext {
  /** The RFC 7638 thumbprint of the key that signed the request's valid DPoP proof. */
  readonly dpopJkt?: string
  /** The RFC 8705 SHA-256 thumbprint of the client's TLS certificate. */
  readonly certificateThumbprint?: string
}

/**
 * What the sender-constraint checks proved about a request before its token is verified: the
 * context for the verifier, and the checked DPoP proof whose `jti` is still to be claimed (`null`
 * without one).
 */
export interface ProvenRequest {
  readonly context: ProofContext
  readonly proof: DpopProofChecked | null
}

/** What the gate knows about one request, for the sender-constraint checks. */
export interface SenderConstraintRequest {
  readonly method: string
  /** Absolute URL, or path and query. */
  readonly url: string
  /** `Authorization` scheme, lower case. */
  readonly scheme: 'bearer' | 'dpop'
  readonly token: string
  /** The token's in-process key, when the gate has it: spares hashing the token again for `ath`. */
  readonly tokenKey?: TokenKey | undefined
  /** The `DPoP` header value(s). */
  readonly dpop: string | readonly string[] | undefined
  /** The `Client-Cert` header value(s). */
  readonly clientCert?: string | readonly string[] | undefined
  /** DER of the TLS client certificate, when the connection has one. */
  readonly clientCertificate?: Uint8Array | undefined
  /** The address the connection comes from (the peer of the socket, not `X-Forwarded-For`). */
  readonly remoteAddress?: string | undefined
}

/** A request refused before its token is verified: 401 with a DPoP challenge. */
export interface SenderConstraintRefusal {
  readonly status: 401
  /** `invalid_dpop_proof`, `use_dpop_nonce` or `invalid_token`. */
  readonly error: 'invalid_dpop_proof' | 'use_dpop_nonce' | 'invalid_token'
  readonly reason: DpopProofRefusalCode | 'bearer_not_accepted' | 'dpop_not_accepted'
  readonly description: string
}

/** The sender-constraint part of the gate, resolved once from its options. */
export interface SenderConstraint {
  /** The proof checker, or `null` when DPoP is off. */
  readonly proofs: DpopProofChecker | null
  /** Bearer scheme refused (`dpop_bound_access_tokens_required`). */
  readonly dpopRequired: boolean
  /** mTLS-bound tokens accepted. */
  readonly mtls: boolean
  /** Client-Cert header read from trusted proxies. */
  readonly clientCertHeader: boolean
  /**
   * What a request proves, or why it is refused: every check of its DPoP proof (RFC 9449 §4.3)
   * but the replay claim, and its client certificate. Synchronous; throws when the clock does.
   */
  context(request: SenderConstraintRequest): ProvenRequest | SenderConstraintRefusal
  /**
   * Claims the `jti` of a checked proof, once its token is accepted: `null` when this is the
   * proof's first use, else the refusal (`replayed`, or `too_old` when the proof aged out of its
   * window meanwhile). At once when the replay store answers at once (the built-in one does),
   * else a promise. Throws or rejects with `VerifierUnavailableError` when the store cannot
   * answer. `sameTurn`: nothing was awaited since `context` checked the proof (the token was
   * decided synchronously), so the time of that check is the time of the claim.
   */
  claim(
    proof: DpopProofChecked,
    signal?: AbortSignal,
    sameTurn?: boolean,
  ): SenderConstraintRefusal | null | Promise<SenderConstraintRefusal | null>
  /** The `DPoP` challenge (RFC 9449 §7.1): `DPoP algs="..."`, with an error when given. */
  challenge(error?: string, description?: string): string
  /** The `DPoP-Nonce` to send, or `undefined` without nonces. */
  nonce(): string | undefined
}

const DPOP_OPTIONS: ReadonlySet<string> = new Set([
  'required',
  'algorithms',
  'maxAge',
  'clockTolerance',
  'maxProofLength',
  'replayStore',
  'replayStoreTimeout',
  'nonceSecret',
  'nonceStep',
  'requireNonce',
  'publicOrigin',
  'now',
])
const MTLS_OPTIONS: ReadonlySet<string> = new Set(['clientCertHeader', 'trustedProxies'])
const NO_CONTEXT: ProofContext = Object.freeze({})
const NOTHING_PROVEN: ProvenRequest = Object.freeze({ context: NO_CONTEXT, proof: null })

const refusal = (
  status: 401,
  error: SenderConstraintRefusal['error'],
  reason: SenderConstraintRefusal['reason'],
  description: string,
): SenderConstraintRefusal => Object.freeze({ status, error, reason, description })

const BEARER_REFUSED = refusal(
  401,
  'invalid_token',
  'bearer_not_accepted',
  'This resource accepts only DPoP-bound access tokens (Authorization: DPoP)',
)
const DPOP_REFUSED = refusal(
  401,
  'invalid_token',
  'dpop_not_accepted',
  'This resource does not accept DPoP-bound access tokens',
)

/**
 * Resolves the gate's `dpop` and `mtls` options into the checks run for every request: the DPoP
 * proof (RFC 9449 §4.3, §7), the server nonce (§9), the TLS client certificate (RFC 8705 §3) and
 * its RFC 9440 header from a trusted proxy. What it yields, the {@link ProofContext}, goes to the
 * verifier, which compares it with the token's `cnf` (and refuses a bound token without it).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7 RFC 9449 §7
 * @see https://www.rfc-editor.org/rfc/rfc8705#section-3 RFC 8705 §3
 * @example
 * ```ts
 * const senderConstraint = resolveSenderConstraint({ dpop: { nonceSecret }, mtls: true })
 * ```
 */
export function resolveSenderConstraint(options: {
  dpop?: DpopOptions | boolean | undefined
  mtls?: MtlsOptions | boolean | undefined
}): SenderConstraint | null {
  const dpopInput =
    options.dpop === undefined || options.dpop === false
      ? null
      : options.dpop === true
        ? {}
        : readOptionsObject('options.dpop', options.dpop)
  const mtlsInput =
    options.mtls === undefined || options.mtls === false
      ? null
      : options.mtls === true
        ? {}
        : readOptionsObject('options.mtls', options.mtls)
  if (dpopInput === null && mtlsInput === null) return null

  let proofs: DpopProofChecker | null = null
  let dpopRequired = false
  let publicOrigin: string | null = null
  if (dpopInput !== null) {
    rejectUnknownOptions('options.dpop', dpopInput, DPOP_OPTIONS)
    dpopRequired = readBoolean('options.dpop.required', dpopInput.required, false)
    const nonces =
      dpopInput.nonceSecret === undefined
        ? undefined
        : createDpopNonces({
            secret: dpopInput.nonceSecret as DpopOptions['nonceSecret'] & object,
            step: dpopInput.nonceStep as number | undefined,
            now: dpopInput.now as (() => number) | undefined,
          })
    if (dpopInput.nonceSecret === undefined && dpopInput.nonceStep !== undefined) {
      throw invalidArgument('options.dpop.nonceStep', 'needs `nonceSecret`')
    }
    proofs = createDpopProofChecker({
      algorithms: dpopInput.algorithms as string[] | undefined,
      maxAge: dpopInput.maxAge as number | undefined,
      clockTolerance: dpopInput.clockTolerance as number | undefined,
      maxProofLength: dpopInput.maxProofLength as number | undefined,
      replayStore: dpopInput.replayStore as ReplayStore | undefined,
      replayStoreTimeout: dpopInput.replayStoreTimeout as number | undefined,
      nonces,
      requireNonce: dpopInput.requireNonce as boolean | undefined,
      now: dpopInput.now as (() => number) | undefined,
    })
    if (dpopInput.publicOrigin !== undefined) {
      publicOrigin = readOrigin(dpopInput.publicOrigin)
    }
  }
  let clientCertHeader = false
  let proxies: ReadonlySet<string> = new Set()
  if (mtlsInput !== null) {
    rejectUnknownOptions('options.mtls', mtlsInput, MTLS_OPTIONS)
    clientCertHeader = readBoolean(
      'options.mtls.clientCertHeader',
      mtlsInput.clientCertHeader,
      false,
    )
    proxies = readProxies(mtlsInput.trustedProxies)
    if (clientCertHeader !== proxies.size > 0) {
      throw invalidArgument(
        clientCertHeader ? 'options.mtls.trustedProxies' : 'options.mtls.clientCertHeader',
        clientCertHeader
          ? 'must list the proxies whose Client-Cert header is believed'
          : 'must be true when trustedProxies is given',
      )
    }
  }
  const algs = proofs === null ? '' : proofs.algorithms.join(' ')

  const certificate = (request: SenderConstraintRequest): string | undefined => {
    if (mtlsInput === null) return undefined
    if (request.clientCertificate instanceof Uint8Array && request.clientCertificate.length > 0) {
      return certificateThumbprint(request.clientCertificate)
    }
    if (clientCertHeader && proxies.has(plainAddress(request.remoteAddress))) {
      const der = parseClientCertHeader(request.clientCert)
      return der === null ? undefined : certificateThumbprint(der)
    }
    return undefined
  }

  // The absolute URL of the previous request (URLs are public: comparing them as text is fine).
  let lastUrl = ''
  let lastTarget: string | null = null
  const target = (url: string): string | null => {
    if (url === lastUrl) return lastTarget
    lastTarget = absoluteTarget(url)
    lastUrl = url
    return lastTarget
  }
  const absoluteTarget = (url: string): string | null => {
    if (publicOrigin !== null) {
      // Only the path of the request counts; the origin is the configured one.
      const path = url.startsWith('/') ? url : pathOf(url)
      return path === null ? null : `${publicOrigin}${path}`
    }
    return url.startsWith('/') ? null : url
  }

  return Object.freeze({
    proofs,
    dpopRequired,
    mtls: mtlsInput !== null,
    clientCertHeader,
    nonce: () => proofs?.nonce(),
    challenge(error?: string, description?: string) {
      return formatChallenge(
        {
          ...(error === undefined ? {} : { error }),
          ...(description === undefined ? {} : { error_description: description }),
          algs,
        },
        'DPoP',
      )
    },
    context(request: SenderConstraintRequest): ProvenRequest | SenderConstraintRefusal {
      const thumbprint = certificate(request)
      if (request.scheme === 'bearer') {
        // RFC 9449 §7.2: with Bearer there is no proof, so no jkt reaches the verifier and a
        // DPoP-bound token is refused there.
        if (dpopRequired) return BEARER_REFUSED
        return thumbprint === undefined
          ? NOTHING_PROVEN
          : { context: { certificateThumbprint: thumbprint }, proof: null }
      }
      if (proofs === null) return DPOP_REFUSED
      const url = target(request.url)
      // The jti is not claimed here: a request whose token is refused must not use up a replay
      // store entry (anyone can sign a proof for a token they made up).
      const checked = proofs.check(
        {
          method: request.method,
          url: url ?? 'about:invalid',
          proof: request.dpop,
          accessToken: request.token,
        },
        request.tokenKey,
      )
      if (!checked.valid) return proofRefusal(checked)
      return {
        context:
          thumbprint === undefined
            ? { dpopJkt: checked.jkt }
            : { dpopJkt: checked.jkt, certificateThumbprint: thumbprint },
        proof: checked,
      }
    },
    claim(proof: DpopProofChecked, signal?: AbortSignal, sameTurn?: boolean) {
      // Only reached with DPoP on: a checked proof comes from `proofs`.
      const answer = (proofs as DpopProofChecker).claim(proof, signal, sameTurn)
      return answer instanceof Promise ? answer.then(claimRefusal) : claimRefusal(answer)
    },
  })
}

// RFC 9449 §7.1: every proof failure (repeated header included) is invalid_dpop_proof, or
// use_dpop_nonce when a fresh nonce would fix it.
function proofRefusal(result: DpopProofRefused): SenderConstraintRefusal {
  return refusal(401, result.error, result.reason, result.description)
}

function claimRefusal(result: DpopProofRefused | null): SenderConstraintRefusal | null {
  return result === null ? null : proofRefusal(result)
}

function readProxies(value: unknown): ReadonlySet<string> {
  if (value === undefined) return new Set()
  if (!Array.isArray(value) || !value.every((a) => typeof a === 'string' && a !== '')) {
    throw invalidArgument('options.mtls.trustedProxies', 'must be an array of IP addresses')
  }
  return new Set((value as string[]).map(plainAddress))
}

// An IPv4 peer of a dual-stack socket shows as an IPv4-mapped IPv6 address.
function plainAddress(address: string | undefined): string {
  if (address === undefined) return ''
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

function readOrigin(value: unknown): string {
  const normalized = typeof value === 'string' ? normalizeHtu(value) : null
  if (normalized === null || !normalized.endsWith('/') || new URL(normalized).pathname !== '/') {
    throw invalidArgument(
      'options.dpop.publicOrigin',
      'must be an http(s) origin without path, query or fragment (https://api.example.com)',
    )
  }
  return normalized.slice(0, -1)
}

function pathOf(url: string): string | null {
  try {
    const parsed = new URL(url)
    return `${parsed.pathname}${parsed.search}`
  } catch {
    return null
  }
}
