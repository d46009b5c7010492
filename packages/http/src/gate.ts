import {
  hasAllScopes,
  invalidArgument,
  isBearerError,
  isScopeToken,
  isVerifierUnavailable,
  missingScopes,
  principalComponents,
  raceDeadline,
  safeAccessToken,
  TokenKey,
  verifyTokenNow,
  VerifierUnavailableError,
  type AccessToken,
  type BearerError,
  type PrincipalComponents,
  type Refusal,
  type VerifyOptions,
} from '@bearerkit/core'
import { httpChannel, type GateEvent } from './diagnostics.js'
import type { DpopProofChecked } from './dpop/dpop-proof-verifier.js'
import type {
  ProofContext,
  ProvenRequest,
  SenderConstraint,
  SenderConstraintRefusal,
} from './dpop/sender-constraint.js'
import {
  NO_CREDENTIALS,
  OTHER_SCHEME,
  parseAuthorization,
  type HeaderProblem,
} from './lib/authorization.js'
import {
  dpopRefusal,
  insufficientScope,
  invalidRequest,
  invalidToken,
  missingToken,
  responseOf,
  unavailable,
} from './lib/refusal.js'
import { resolveSettings, type Settings } from './lib/settings.js'
import { formHasToken, isFormType, queryHasToken } from './lib/target.js'
import { GATE_OPTION_NAMES, type BearerGateOptions } from './options.js'
import { metadataOf, type ProtectedResourceMetadata } from './protected-resource-metadata.js'
import { readHeader, type GateRequest, type HeaderRecord } from './request.js'
import type { GateResponse } from './response.js'

/** The request is authenticated: hand `accessToken` and `principal` to the application. */
export interface GateAccepted {
  readonly kind: 'accepted'
  readonly accessToken: AccessToken
  /** `[clientId, issuer, subject]` (core's `principalComponents`): bind sessions to it. */
  readonly principal: PrincipalComponents
  /** Every scope the request needed (`requiredScopes` and the route's). */
  readonly scopes: readonly string[]
}

/** The request is refused: send `response` (or throw `error` into a framework's error path). */
export interface GateRefused {
  readonly kind: 'refused'
  /** The core `BearerError`; its `headers` are those of `response`, without `content-type`. */
  readonly error: BearerError
  /** The exact answer: status, headers, JSON body. */
  readonly response: GateResponse
  /** Log-safe reason code (`missing_token`, `token_in_query`, `expired`, `wrong_audience` ...). */
  readonly reason: string
  /**
   * What to log: `{ reason, statusCode, ... }` with `missing` scopes or a foreign error's
   * `errorName`/`errorCode`. Never the token. Log it at debug, a 503 at warn.
   */
  readonly log: Readonly<Record<string, unknown>>
}

/**
 * A CORS preflight that may pass without a token because nothing of the application runs for it
 * (the adapter said so with `noHandlerRuns`).
 */
export interface GatePreflight {
  readonly kind: 'preflight'
}

/**
 * No token in the headers of a form request whose body is still to be parsed (`bodyPending`):
 * call {@link BearerGate.checkBody} with the parsed body.
 */
export interface GatePending {
  readonly kind: 'pending'
  readonly scopes: readonly string[]
}

/** What the gate decided about a request. */
export type GateResult = GateAccepted | GateRefused | GatePreflight | GatePending

/**
 * The one HTTP gate: RFC 6750 bearer authentication, RFC 8707 audience, route scopes and RFC 9728
 * metadata for any framework. It never throws for a request: every outcome is a {@link GateResult}.
 */
export interface BearerGate {
  /**
   * Decides a request, in this order: CORS preflight rule; no token in the query (RFC 6750 §2.3);
   * the `Authorization` header (RFC 6750 §2.1); no second token in a form body (§2.2); the
   * verifier; audience (RFC 8707); scopes.
   */
  authenticate(request: GateRequest): Promise<GateResult>
  /**
   * {@link BearerGate.authenticate}, answered at once when nothing has to be waited for (a
   * verified-token cache hit, any refusal decided from the headers, the built-in DPoP replay
   * store), and as a promise otherwise: for adapters whose framework takes a synchronous answer
   * without a round through the microtask queue. It throws only where `authenticate` rejects.
   */
  authenticateNow(request: GateRequest): GateResult | Promise<GateResult>
  /**
   * The second half of a request answered `pending`, or of an accepted one whose form body was
   * parsed after authentication: a token in the form body is refused (RFC 6750 §2.2 is not
   * accepted here; next to the header it is a token sent twice), and a `pending` request without
   * one is a 401. Returns `result` itself when there is nothing to refuse.
   */
  checkBody(
    request: {
      readonly method: string
      readonly headers: Headers | HeaderRecord
      readonly body: unknown
    },
    result: GateAccepted | GatePending,
  ): GateAccepted | GateRefused
  /**
   * Demands more scopes of an accepted request, for decisions made inside a handler (an MCP
   * `tools/call` of a tool with its own scope): the 403 lists every scope needed (the request's
   * and these) so the client can step up at once. `null` when the token has them all.
   */
  requireScopes(
    accepted: GateAccepted,
    scopes: readonly string[],
    method?: string,
  ): GateRefused | null
  /**
   * The exact RFC 6750 response for any `BearerError`, whoever constructed it (an application
   * that throws `new InsufficientScopeError([...])` itself): the challenge carries this gate's
   * realm, `resource_metadata` and the scopes (the error's, else `scopes`).
   */
  respond(error: BearerError, scopes?: readonly string[], method?: string): GateResponse
  /** The RFC 9728 metadata answers, or `null` when the gate does not serve them. */
  readonly metadata: ProtectedResourceMetadata | null
  /** Scopes every request needs (`requiredScopes`). */
  readonly requiredScopes: readonly string[]
}

const PREFLIGHT: GatePreflight = Object.freeze({ kind: 'preflight' })
const NO_SCOPES: readonly string[] = Object.freeze([])

const TOKEN_IN_QUERY = 'Access tokens are not accepted in the query string'
const TOKEN_IN_BODY = 'Access tokens are accepted only in the Authorization header'
const TOKEN_TWICE = 'The access token must be sent in one place only'
const FOREIGN_AUDIENCE = 'The access token is not meant for this resource'
const NOT_DPOP_BOUND =
  'The access token is not DPoP-bound: send it with the Bearer scheme, without a DPoP proof'
// A refusal code goes into logs and events: only a short identifier is kept as given.
const REASON = /^[a-z][a-z0-9_]{0,63}$/

/**
 * Creates the gate. Every option is checked here; a mistake throws a `TypeError`
 * (`ERR_INVALID_ARG_VALUE`) whose message starts with the option's name.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750 RFC 6750
 * @see https://www.rfc-editor.org/rfc/rfc9728 RFC 9728
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2 RFC 8707 §2
 * @example
 * ```ts
 * const gate = createBearerGate({ verifier, resource, requiredScopes: ['mcp:tools'] })
 * const result = await gate.authenticate({ method: req.method, url: req.url, headers: req.headers })
 * if (result.kind === 'refused') return toWebResponse(result.response)
 * ```
 */
export function createBearerGate(options: BearerGateOptions): BearerGate {
  return gateOf(resolveSettings(options, new Set(GATE_OPTION_NAMES)))
}

/** The gate of validated settings (adapters that validate their own options reach it this way). */
export function gateOf(settings: Settings): BearerGate {
  const unions = new WeakMap<readonly string[], readonly string[]>()
  const scopesFor = (own: readonly string[] | undefined): readonly string[] => {
    if (own === undefined || own.length === 0) return settings.requiredScopes
    if (settings.requiredScopes.length === 0) return own
    let scopes = unions.get(own)
    if (scopes === undefined) {
      scopes = Object.freeze([...new Set([...settings.requiredScopes, ...own])])
      unions.set(own, scopes)
    }
    return scopes
  }

  const refused = (
    error: BearerError,
    reason: string,
    scopes: readonly string[],
    method: string,
    details?: Record<string, unknown>,
  ): GateRefused => {
    const response = responseOf(settings, error, scopes, method)
    if (httpChannel.hasSubscribers) {
      publish({
        outcome: response.status === 503 ? 'unavailable' : 'refused',
        status: response.status,
        reason,
      })
    }
    return {
      kind: 'refused',
      error,
      response,
      reason,
      log: { reason, statusCode: response.status, ...details },
    }
  }

  const headerRefusal = (
    problem: HeaderProblem,
    scopes: readonly string[],
    method: string,
  ): GateRefused =>
    problem.status === 401
      ? refused(missingToken(settings, problem.description, scopes), problem.reason, scopes, method)
      : refused(invalidRequest(settings, problem.description), problem.reason, scopes, method)

  // A refused token: `invalid_token` on the challenge of the scheme the client used.
  const tokenRefusal = (
    description: string,
    reason: string,
    scopes: readonly string[],
    method: string,
    dpop: boolean,
  ): GateRefused =>
    refused(
      dpop
        ? dpopRefusal(
            settings,
            { status: 401, error: 'invalid_token', reason, description },
            scopes,
          )
        : invalidToken(settings, description, reason, scopes),
      reason,
      scopes,
      method,
    )

  const unavailableRefusal = (
    error: unknown,
    scopes: readonly string[],
    method: string,
  ): GateRefused => {
    // DESIGN: an unavailable verifier (or replay store) is a 503, never a 401, and never an
    // acceptance.
    if (isVerifierUnavailable(error)) {
      const reason = error.reason ?? 'unavailable'
      return refused(
        unavailable(settings, reason, error.retryAfter, error),
        `verifier_unavailable:${reason}`,
        scopes,
        method,
      )
    }
    // Not a bearerkit error: its message may quote the token, so only its name and code are
    // logged, and it is not kept as the cause a framework might log.
    return refused(
      unavailable(settings, 'verifier_error', undefined, undefined),
      'verifier_error',
      scopes,
      method,
      describeForeignError(error),
    )
  }

  // A refused DPoP proof: 401 with `invalid_dpop_proof` or `use_dpop_nonce` (RFC 9449 §7.1).
  const proofRefused = (
    refusal: SenderConstraintRefusal,
    scopes: readonly string[],
    method: string,
  ): GateRefused =>
    refused(dpopRefusal(settings, refusal, scopes), `dpop_${refusal.reason}`, scopes, method)

  // The verifier's answer, once it is at hand: audience, binding, the proof's jti, scopes.
  const decide = (
    request: GateRequest,
    token: unknown,
    refusal: Refusal | undefined,
    scopes: readonly string[],
    dpop: boolean,
    proof: DpopProofChecked | null,
    sameTurn: boolean,
  ): GateAccepted | GateRefused | Promise<GateAccepted | GateRefused> => {
    // A custom verifier's answer is read through whatever getters it has, and one may throw: that
    // is a verifier failure (503), never a throw or a rejection of authenticate.
    try {
      if (token === null || token === undefined) {
        const code = (refusal as { code?: unknown } | undefined)?.code
        const reason = typeof code === 'string' && REASON.test(code) ? code : 'invalid_token'
        const given = (refusal as { description?: unknown } | undefined)?.description
        const description =
          typeof given === 'string' && given !== '' ? given : 'The access token is invalid'
        return tokenRefusal(description, reason, scopes, request.method, dpop)
      }
      if (!isAccessToken(token)) {
        // The contract allows an AccessToken or null; anything else cannot be trusted either way.
        return refused(
          unavailable(settings, 'verifier_error', undefined, undefined),
          'verifier_error',
          scopes,
          request.method,
          { errorName: 'invalid_result' },
        )
      }
      if (settings.audiences !== null && !namesAudience(token, settings.audiences)) {
        // RFC 8707 §2 / RFC 9068 §4 / MCP authorization: `aud` decides; a token issued for another
        // resource is refused even when the verifier was configured without an audience.
        return tokenRefusal(FOREIGN_AUDIENCE, 'wrong_audience', scopes, request.method, dpop)
      }
      if (dpop && typeof (token.claims.cnf as { jkt?: unknown } | undefined)?.jkt !== 'string') {
        // An unbound token sent with the DPoP scheme: the client claims a binding the token does
        // not have (see the README: refused rather than silently taken as a bearer token).
        return tokenRefusal(NOT_DPOP_BOUND, 'not_dpop_bound', scopes, request.method, true)
      }
      if (proof === null) return admit(token, scopes, request.method)
      // RFC 9449 §11.1: the proof's jti is claimed last of the authentication checks, so that
      // only the holder of a valid token can write to the replay store (a made-up token with a
      // self-signed proof writes nothing). Before the scope check: the client is authenticated
      // then, a replayed proof is a 401 whatever the scopes, and a proof refused for its scopes
      // cannot be sent again.
      const claimedBy = (claimed: SenderConstraintRefusal | null): GateAccepted | GateRefused => {
        if (claimed !== null) return proofRefused(claimed, scopes, request.method)
        try {
          return admit(token, scopes, request.method)
        } catch (error) {
          // A getter of the answer that throws (see decide), after a replay store's promise.
          return unavailableRefusal(error, scopes, request.method)
        }
      }
      let claimed: SenderConstraintRefusal | null | Promise<SenderConstraintRefusal | null>
      try {
        // Decided synchronously (sameTurn): the proof's check read the clock just now.
        claimed = (settings.senderConstraint as SenderConstraint).claim(
          proof,
          request.signal,
          sameTurn,
        )
      } catch (error) {
        return unavailableRefusal(error, scopes, request.method)
      }
      // The built-in replay store answers at once: then no promise is awaited.
      return claimed instanceof Promise
        ? claimed.then(claimedBy, (error: unknown) =>
            unavailableRefusal(error, scopes, request.method),
          )
        : claimedBy(claimed)
    } catch (error) {
      return unavailableRefusal(error, scopes, request.method)
    }
  }

  // Scopes last: an authenticated token that lacks one is a 403 naming them all.
  const admit = (
    token: AccessToken,
    scopes: readonly string[],
    method: string,
  ): GateAccepted | GateRefused => {
    if (!hasAllScopes(token.scopes, scopes)) {
      return refused(insufficientScope(settings, scopes), 'insufficient_scope', scopes, method, {
        missing: missingScopes(token.scopes, scopes),
      })
    }
    if (httpChannel.hasSubscribers) {
      publish({ outcome: 'accepted', status: 200, clientId: token.clientId })
    }
    // Any TokenVerifier may answer, one not built with defineVerifier too: what the application
    // gets prints a fingerprint, never the token.
    return {
      kind: 'accepted',
      accessToken: safeAccessToken(token),
      principal: principalComponents(token),
      scopes,
    }
  }

  // Answers at once when every step does (a verified-token cache hit, the built-in replay
  // store): a request then pays for no promise of ours.
  const verify = (
    request: GateRequest,
    scanned: TokenKey,
    scopes: readonly string[],
    dpop: boolean,
  ): GateAccepted | GateRefused | Promise<GateAccepted | GateRefused> => {
    const raw = scanned.token
    let context: ProofContext | undefined
    let proof: DpopProofChecked | null = null
    const senderConstraint = settings.senderConstraint
    if (senderConstraint !== null) {
      // RFC 9449 §4.3 / RFC 8705 §3: check the proof (and read the client certificate) first;
      // what was proven reaches the verifier, which compares it with the token's cnf. The
      // proof's jti is claimed only once the token is accepted (decide).
      let proven: ProvenRequest | SenderConstraintRefusal
      try {
        proven = senderConstraint.context({
          method: request.method,
          url: request.url,
          scheme: dpop ? 'dpop' : 'bearer',
          token: raw,
          tokenKey: scanned,
          dpop: dpop ? readHeader(request.headers, 'dpop') : undefined,
          clientCert: senderConstraint.clientCertHeader
            ? readHeader(request.headers, 'client-cert')
            : undefined,
          clientCertificate: request.clientCertificate,
          remoteAddress: request.remoteAddress,
        })
      } catch (error) {
        return unavailableRefusal(error, scopes, request.method)
      }
      if ('status' in proven) return proofRefused(proven, scopes, request.method)
      context = proven.context
      proof = proven.proof
    }
    let refusal: Refusal | undefined
    const options = verifyOptions(
      request,
      (given) => {
        refusal = given
      },
      context,
      scanned,
    )
    let answer: unknown
    let thenable: boolean
    try {
      // A cache hit of a verifier built by core answers at once; any other answer is a promise.
      answer = verifyTokenNow(settings.verifier, raw, options)
      // Inside the try: the `then` of a custom verifier's answer may be a getter that throws.
      thenable = isThenable(answer)
    } catch (error) {
      return unavailableRefusal(error, scopes, request.method)
    }
    if (!thenable) return decide(request, answer, refusal, scopes, dpop, proof, true)
    // A verifier that never answers (a custom one, a provider, a key resolver) must not hold
    // the request: past verifierTimeout it is a 503, never an acceptance.
    return raceDeadline(
      answer as PromiseLike<unknown>,
      settings.verifierTimeout,
      verifierTimedOut,
    ).then(
      (token) => decide(request, token, refusal, scopes, dpop, proof, false),
      (error: unknown) => unavailableRefusal(error, scopes, request.method),
    )
  }

  const gate: BearerGate = {
    requiredScopes: settings.requiredScopes,
    metadata:
      settings.metadata === null || settings.resource === undefined
        ? null
        : metadataOf(
            settings.resource.url,
            settings.resource.metadataUrl,
            settings.resource.metadataPath,
            settings.resource.document,
            settings.metadata.allowOrigin,
          ),

    authenticateNow(request) {
      const scopes = scopesFor(request.scopes)
      const method = request.method
      if (
        method === 'OPTIONS' &&
        request.noHandlerRuns === true &&
        readHeader(request.headers, 'access-control-request-method') !== undefined
      ) {
        // Fetch: a CORS preflight never carries credentials. It passes only when nothing of the
        // application runs for it; otherwise it is authenticated like any request.
        if (httpChannel.hasSubscribers) publish({ outcome: 'preflight', status: 204 })
        return PREFLIGHT
      }
      if (queryHasToken(request.url)) {
        // RFC 6750 §2.3 / MCP authorization (access token usage): URLs leak into logs and history.
        return refused(invalidRequest(settings, TOKEN_IN_QUERY), 'token_in_query', scopes, method)
      }
      const header =
        request.authorization === undefined
          ? readHeader(request.headers, 'authorization')
          : request.authorization
      // RFC 9449 §7.1: `Authorization: DPoP <token>` where DPoP is accepted. A header spelt as
      // RFC 9449 spells the scheme is read as DPoP first: a token found that way has no comma, so
      // reading the header as Bearer (a scan of all of it for second credentials) could only
      // have answered "another scheme". Anything else takes the general way.
      const dpopAccepted = settings.senderConstraint?.proofs != null
      let raw =
        dpopAccepted && typeof header === 'string' && header.startsWith('DPoP ')
          ? parseAuthorization(header, settings.maxTokenLength, 'dpop')
          : OTHER_SCHEME
      let dpop = raw instanceof TokenKey
      if (!dpop) {
        raw = parseAuthorization(header, settings.maxTokenLength)
        if (raw === OTHER_SCHEME && dpopAccepted) {
          const bound = parseAuthorization(header, settings.maxTokenLength, 'dpop')
          if (bound !== OTHER_SCHEME) {
            raw = bound
            dpop = true
          }
        }
      }
      const form =
        request.body !== undefined || request.bodyPending === true
          ? isFormType(readHeader(request.headers, 'content-type'))
          : false
      if (form && request.body !== undefined && formHasToken(request.body)) {
        const description = raw instanceof TokenKey ? TOKEN_TWICE : TOKEN_IN_BODY
        return refused(invalidRequest(settings, description), 'token_in_body', scopes, method)
      }
      if (!(raw instanceof TokenKey)) {
        if (raw === NO_CREDENTIALS && form && request.body === undefined) {
          // RFC 6750 §2.2: the token may be in the form body; decide once it is parsed.
          return { kind: 'pending', scopes }
        }
        return headerRefusal(raw, scopes, method)
      }
      return verify(request, raw, scopes, dpop)
    },

    authenticate(request) {
      try {
        const result = gate.authenticateNow(request)
        return result instanceof Promise ? result : Promise.resolve(result)
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        return Promise.reject(error)
      }
    },

    checkBody(request, result) {
      const form = isFormType(readHeader(request.headers, 'content-type'))
      if (form && formHasToken(request.body)) {
        return refused(
          invalidRequest(settings, result.kind === 'accepted' ? TOKEN_TWICE : TOKEN_IN_BODY),
          'token_in_body',
          result.scopes,
          request.method,
        )
      }
      if (result.kind === 'pending')
        return headerRefusal(NO_CREDENTIALS, result.scopes, request.method)
      return result
    },

    requireScopes(accepted, scopes, method = 'GET') {
      // A string is iterable: 'admin' would be read as the scopes a, d, m, i, n and let a token
      // holding those letters through. Only an array of RFC 6749 §3.3 scope tokens is a list.
      if (!Array.isArray(scopes) || !scopes.every((scope) => isScopeToken(scope))) {
        throw invalidArgument('scopes', 'must be an array of scope tokens (RFC 6749 §3.3)')
      }
      const needed =
        scopes.length === 0 ? accepted.scopes : [...new Set([...accepted.scopes, ...scopes])]
      if (hasAllScopes(accepted.accessToken.scopes, needed)) return null
      return refused(insufficientScope(settings, needed), 'insufficient_scope', needed, method, {
        missing: missingScopes(accepted.accessToken.scopes, needed),
      })
    },

    respond(error, scopes = NO_SCOPES, method = 'GET') {
      if (!isBearerError(error)) throw new TypeError('error must be a BearerError')
      return responseOf(settings, error, scopes, method)
    },
  }
  return Object.freeze(gate)
}

/**
 * The options the verifier gets for one request: the abort signal, the refusal callback and what
 * the sender-constraint checks proved (the DPoP key and TLS certificate thumbprints), which the
 * verifier compares with the token's `cnf`.
 */
function verifyOptions(
  request: GateRequest,
  onRefusal: (refusal: Refusal) => void,
  context: ProofContext | undefined,
  tokenKey: TokenKey,
): VerifyOptions {
  const senderConstraint =
    context === undefined ||
    (context.dpopJkt === undefined && context.certificateThumbprint === undefined)
      ? undefined
      : context
  const signal = request.signal
  // One shape per case, each with every member defined: no `undefined` member reaches a verifier
  // that tells an absent option from an undefined one.
  if (senderConstraint === undefined) {
    return signal === undefined ? { onRefusal, tokenKey } : { signal, onRefusal, tokenKey }
  }
  return signal === undefined
    ? { onRefusal, senderConstraint, tokenKey }
    : { signal, onRefusal, senderConstraint, tokenKey }
}

function isAccessToken(value: unknown): value is AccessToken {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AccessToken).clientId === 'string' &&
    Array.isArray((value as AccessToken).scopes) &&
    typeof (value as AccessToken).claims === 'object' &&
    (value as AccessToken).claims !== null
  )
}

// RFC 8707 §2, RFC 9068 §4: the `aud` claim names the resource servers a token is for. Another
// claim (`resource`) never stands in for it.
function namesAudience(token: AccessToken, audiences: ReadonlySet<string>): boolean {
  const list = token.audience
  if (!Array.isArray(list)) return false
  for (const audience of list) if (audiences.has(audience as string)) return true
  return false
}

function describeForeignError(error: unknown): Record<string, unknown> {
  const name = error instanceof Error ? error.name : typeof error
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? { errorName: name, errorCode: code } : { errorName: name }
}

function publish(event: GateEvent): void {
  httpChannel.publish(event)
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}

function verifierTimedOut(): VerifierUnavailableError {
  return new VerifierUnavailableError('The token verifier did not answer in time', {
    reason: 'verifier_timeout',
  })
}
