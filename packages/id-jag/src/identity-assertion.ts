import {
  Refusal,
  VerifierUnavailableError,
  createMemoryReplayStore,
  invalidArgument,
  isScopeToken,
  isVerifierUnavailable,
  parseScopes,
  peekIssuer,
  raceAbort,
  raceDeadline,
  readFunction,
  readNumber,
  readOptionsObject,
  rejectUnknownOptions,
  safeClaims,
  timerDelay,
  validateUrl,
  type ReplayStore,
  readClock,
} from '@bearerkit/core'
import {
  createJwsVerifier,
  createKeyResolver,
  type JwsVerifier,
  type KeyResolver,
  type KeyResolverOptions,
} from '@bearerkit/jwt'
import { TokenError, type OAuthClientInformation } from '@bearerkit/provider'

/** The `typ` an ID-JAG must carry, exactly. */
export const ID_JAG_TYPE = 'oauth-id-jag+jwt'

/** The RFC 7523 grant type an ID-JAG is presented with at the token endpoint. */
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

/** A trusted identity provider: its key source, or a ready {@link KeyResolver}. */
export type TrustedIssuer =
  KeyResolver | Pick<KeyResolverOptions, 'jwksUri' | 'key' | 'algorithms' | 'jwks' | 'fetch'>

/** What the scope policy is told about an assertion. */
export interface ScopePolicyContext {
  /** Scopes the assertion carries (its `scope` claim). */
  readonly assertionScopes: readonly string[]
  /** Scopes the token request asked for, if any. Never grant them just because they were asked. */
  readonly requestedScopes: readonly string[] | undefined
  readonly resource: string
  readonly subject: string
  readonly clientId: string
  readonly issuer: string
  readonly claims: Readonly<Record<string, unknown>>
}

/**
 * Decides the scopes to grant. The default grants the assertion's scopes, narrowed to the requested
 * ones when the request names any. A policy may map or narrow further; it is trusted, so it should
 * never return a scope only because the request asked for it.
 */
export type ScopePolicy = (
  context: ScopePolicyContext,
) => readonly string[] | Promise<readonly string[]>

/** Options of {@link createIdentityAssertionVerifier}. */
export interface IdentityAssertionVerifierOptions {
  /** This authorization server's issuer identifier: an assertion's `aud` must be exactly it. */
  issuer: string
  /** Identity providers whose assertions are accepted, by issuer, each with its own keys. */
  trustedIssuers: Readonly<Record<string, TrustedIssuer>>
  /** Resources this server issues tokens for (exact URLs), or a predicate deciding it. */
  resources: readonly string[] | ((resource: string) => boolean | Promise<boolean>)
  /** Scope policy. Default: the assertion's scopes, narrowed to the requested ones if any. */
  scopePolicy?: ScopePolicy
  /** Where used `jti`s are remembered. Default: core's `createMemoryReplayStore()`. */
  replayStore?: ReplayStore
  /** Algorithm allow-list. Default: the JWT package's asymmetric defaults. */
  algorithms?: readonly string[]
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. Default 30. */
  clockTolerance?: number
  /** Longest accepted lifetime of an assertion (`exp` - now, and `exp` - `iat`), in seconds. Default 300. */
  maxLifetime?: number
  /**
   * Longest wait for the replay store, in milliseconds. A store that does not answer by then
   * (or before the request's `signal` aborts) makes the verification reject with
   * `VerifierUnavailableError`. Default 5,000.
   */
  replayStoreTimeout?: number
  /**
   * Longest wait for each of the `resources` predicate and the `scopePolicy`, in milliseconds
   * (checked every 100 ms). A hook that does not answer by then, throws, or outlives the request's
   * `signal` makes the verification reject with `VerifierUnavailableError` (503), never grant.
   * Default 5,000.
   */
  policyTimeout?: number
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

const OPTION_NAMES = [
  'issuer',
  'trustedIssuers',
  'resources',
  'scopePolicy',
  'replayStore',
  'algorithms',
  'clockTolerance',
  'maxLifetime',
  'replayStoreTimeout',
  'policyTimeout',
  'now',
]

/** The request an assertion arrives with (RFC 7523 §2.1 token request). */
export interface IdentityAssertionRequest {
  /** The authenticated client. Its `client_id` must be the assertion's `client_id` claim. */
  client: Pick<OAuthClientInformation, 'client_id'>
  /** Scopes the request asked for. */
  scopes?: readonly string[] | undefined
  /** `resource` the request named (RFC 8707). When given, it must be the assertion's. */
  resource?: string | undefined
  /** Cancels key fetching and the wait for the replay store. */
  signal?: AbortSignal
}

/** What to issue a token for, derived from a verified assertion. */
export interface IdentityAssertionGrant {
  /** The end user (`sub`), as the identity provider names them. */
  readonly subject: string
  readonly clientId: string
  /** The identity provider that issued the assertion. */
  readonly issuer: string
  /** The resource the token must be audience-restricted to. */
  readonly resource: string
  /** Scopes to grant, as the policy decided. */
  readonly scopes: readonly string[]
  /** The assertion's `exp`, in seconds since the epoch: no token should outlive the user's grant by much. */
  readonly assertionExpiresAt: number
  readonly jti: string
  readonly claims: Readonly<Record<string, unknown>>
}

/** Verifies ID-JAGs; built by {@link createIdentityAssertionVerifier}. */
export interface IdentityAssertionVerifier {
  /**
   * The grant an assertion supports, or a rejection: `TokenError('invalid_grant')` for a refused
   * assertion, `TokenError('invalid_target')` for a resource this server does not serve, and
   * `VerifierUnavailableError` when the identity provider's keys or the replay store cannot be
   * reached (never an acceptance).
   */
  verify(assertion: string, request: IdentityAssertionRequest): Promise<IdentityAssertionGrant>
  /** Loads every trusted issuer's keys now. */
  ready(): Promise<void>
  /** Releases the key resolvers this verifier built (not those passed in). */
  close(): void
}

const MAX_JTI_LENGTH = 256

function isKeyResolver(value: TrustedIssuer): value is KeyResolver {
  return typeof (value as KeyResolver).resolve === 'function'
}

const grantError = (description: string): TokenError => new TokenError('invalid_grant', description)

/**
 * Builds the authorization-server side of SEP-990 (leg 2): verification of an Identity Assertion
 * JWT Authorization Grant presented with the RFC 7523 `jwt-bearer` grant type. Every rule is
 * checked, in this order, and the first failure decides:
 *
 * 1. the unverified `iss` names a trusted identity provider (otherwise no key is even looked up);
 * 2. the JWS is well formed, `alg` is allowed, and the signature verifies with that provider's keys
 *    (JWKS or static key, same handling as `@bearerkit/jwt`; `jku`/`x5u`/`jwk`/`x5c` ignored);
 * 3. `typ` is exactly `oauth-id-jag+jwt`;
 * 4. the verified `iss` is the provider whose keys verified it;
 * 5. `aud` is exactly this server's issuer (a string, or an array of that one string);
 * 6. `exp` and `iat` are present (the draft makes `iat` REQUIRED), `exp` not passed, `nbf`/`iat`
 *    not in the future, and the lifetime at most `maxLifetime`;
 * 7. `sub` is a non-empty string; `jti` a string of 1 to 256 characters;
 * 8. `client_id` equals the authenticated client's id (the request's own word is never enough);
 * 9. `resource` comes from the assertion, must match the request's `resource` when one is given,
 *    and must be served here (`invalid_target` otherwise);
 * 10. scopes come from the assertion through the scope policy, never verbatim from the request;
 * 11. last, `jti` is marked used for the assertion's lifetime: a replay is `invalid_grant`; a
 *     replay store that throws, hangs past `replayStoreTimeout`, outlives `request.signal` or
 *     answers a non-boolean is `VerifierUnavailableError`.
 *
 * Marking `jti` comes last so that an assertion refused for another reason does not burn its
 * identifier, and a forged one cannot burn someone else's.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3 RFC 7523 §3 (assertion rules)
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-identity-assertion-authz-grant/ ID-JAG
 * @example
 * ```ts
 * const assertions = createIdentityAssertionVerifier({
 *   issuer: 'https://auth.example.com',
 *   trustedIssuers: { 'https://idp.example.org': { jwksUri: 'https://idp.example.org/jwks' } },
 *   resources: ['https://mcp.example.com/mcp'],
 * })
 * const grant = await assertions.verify(params.assertion, { client, scopes: params.scopes })
 * ```
 */
export function createIdentityAssertionVerifier(
  options: IdentityAssertionVerifierOptions,
): IdentityAssertionVerifier {
  rejectUnknownOptions('options', readOptionsObject('options', options), OPTION_NAMES)
  if (typeof options.issuer !== 'string' || options.issuer === '') {
    throw invalidArgument('options.issuer', "must be this authorization server's issuer")
  }
  const ownIssuer = options.issuer
  const now = readFunction<() => number>('options.now', options.now) ?? Date.now
  const tolerance = readNumber('options.clockTolerance', options.clockTolerance, 30)
  const maxLifetime = readNumber('options.maxLifetime', options.maxLifetime, 300)
  const storeTimeout = readNumber('options.replayStoreTimeout', options.replayStoreTimeout, 5000, 1)
  const policyTimeout = readNumber('options.policyTimeout', options.policyTimeout, 5000, 1)
  const replayStore = options.replayStore ?? createMemoryReplayStore({ now })
  if (typeof replayStore?.markUsed !== 'function') {
    throw invalidArgument('options.replayStore', 'must be a ReplayStore (an object with markUsed)')
  }
  const scopePolicy = options.scopePolicy ?? defaultScopePolicy
  if (typeof scopePolicy !== 'function') {
    throw invalidArgument('options.scopePolicy', 'must be a function')
  }
  const isKnownResource = readResources(options.resources)

  const trusted = options.trustedIssuers
  if (typeof trusted !== 'object' || trusted === null || Object.keys(trusted).length === 0) {
    throw invalidArgument('options.trustedIssuers', 'must map at least one issuer to its keys')
  }
  const verifiers = new Map<string, { keys: KeyResolver; jws: JwsVerifier; owned: boolean }>()
  for (const [idp, source] of Object.entries(trusted)) {
    const path = `options.trustedIssuers[${JSON.stringify(idp)}]`
    validateUrl(path, idp)
    // The provider's issuer prefixes the subject it vouches for (`<issuer>#<sub>`, see
    // identityAssertionHook); with no `#` in any issuer the first `#` separates them unambiguously.
    if (idp.includes('#')) throw invalidArgument(path, 'must not contain "#"')
    if (typeof source !== 'object' || source === null) {
      throw invalidArgument(path, 'must be a key source ({ jwksUri } or { key }) or a KeyResolver')
    }
    const keys = isKeyResolver(source)
      ? source
      : createKeyResolver(
          {
            ...source,
            issuer: idp,
            ...(options.algorithms === undefined ? {} : { algorithms: options.algorithms }),
            now,
          },
          path,
        )
    const jws = createJwsVerifier({
      keys,
      types: [ID_JAG_TYPE],
      ...(options.algorithms === undefined ? {} : { algorithms: options.algorithms }),
    })
    verifiers.set(idp, { keys, jws, owned: !isKeyResolver(source) })
  }

  return {
    async verify(assertion, request) {
      const clientId = request?.client?.client_id
      if (typeof clientId !== 'string' || clientId === '') {
        throw invalidArgument('request.client.client_id', 'must be the authenticated client id')
      }
      if (typeof assertion !== 'string' || assertion === '') {
        throw grantError('The assertion is missing')
      }
      // 1. Pick the provider by the unverified iss; it only chooses whose keys verify.
      const claimedIssuer = peekIssuer(assertion)
      const idp = claimedIssuer === null ? undefined : verifiers.get(claimedIssuer)
      if (claimedIssuer === null || idp === undefined) {
        throw grantError('The assertion is not from a trusted identity provider')
      }
      // 2-3. Signature with that provider's keys; typ checked by the JWS layer, then exactly.
      const verified = await idp.jws.verify(assertion, request.signal)
      if (verified instanceof Refusal)
        throw grantError(`The assertion is refused: ${verified.description}`)
      if (verified.header.typ !== ID_JAG_TYPE) {
        throw grantError(`The assertion typ must be exactly ${ID_JAG_TYPE}`)
      }
      const claims = verified.payload
      // 4. The verified issuer must be the one whose keys were used.
      if (claims.iss !== claimedIssuer) throw grantError('The assertion issuer is not trusted')
      // 5. Audience: exactly this authorization server.
      const aud = claims.aud
      const audOk =
        aud === ownIssuer || (Array.isArray(aud) && aud.length === 1 && aud[0] === ownIssuer)
      if (!audOk) throw grantError('The assertion is not addressed to this authorization server')
      // 6. Time. RFC 7519 §4.1.4: not accepted on or after exp (with the leeway). A clock that
      // gives no number would pass every comparison below: 503, never a grant.
      const at = readClock(now, 'the assertion') / 1000
      const { exp, nbf, iat } = claims
      if (typeof exp !== 'number' || !Number.isFinite(exp)) {
        throw grantError('The assertion has no valid exp')
      }
      // draft-ietf-oauth-identity-assertion-authz-grant §3.1: iat is REQUIRED in an ID-JAG. It
      // also bounds the lifetime the identity provider gave it (exp - iat).
      if (typeof iat !== 'number' || !Number.isFinite(iat)) {
        throw grantError('The assertion has no valid iat')
      }
      if (exp <= at - tolerance) throw grantError('The assertion has expired')
      if (nbf !== undefined && (typeof nbf !== 'number' || nbf > at + tolerance)) {
        throw grantError('The assertion is not valid yet')
      }
      if (iat > at + tolerance) throw grantError('The assertion was issued in the future')
      if (exp - at > maxLifetime + tolerance || exp - iat > maxLifetime) {
        throw grantError('The assertion lives longer than this server accepts')
      }
      // 7. Subject and identifier.
      const sub = claims.sub
      if (typeof sub !== 'string' || sub === '') throw grantError('The assertion has no subject')
      const jti = claims.jti
      if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) {
        throw grantError('The assertion has no valid jti')
      }
      // 8. The client named by the assertion must be the client that authenticated.
      if (claims.client_id !== clientId) {
        throw grantError('The assertion was issued to another client')
      }
      // 9. Resource from the assertion, known here, and not contradicted by the request.
      const resource = claims.resource
      if (typeof resource !== 'string' || resource === '') {
        throw grantError('The assertion names no resource')
      }
      if (request.resource !== undefined && request.resource !== resource) {
        throw new TokenError(
          'invalid_target',
          'The requested resource is not the assertion resource',
        )
      }
      const known = await callHook(
        'resources',
        () => isKnownResource(resource),
        policyTimeout,
        request.signal,
      )
      if (!known) {
        throw new TokenError('invalid_target', 'The assertion resource is not served here')
      }
      // 10. Scopes through the policy.
      const frozen = safeClaims(claims)
      const assertionScopes = parseScopes(claims.scope)
      const requestedScopes = request.scopes === undefined ? undefined : [...request.scopes]
      const decided = await callHook(
        'scopePolicy',
        () =>
          scopePolicy({
            assertionScopes,
            requestedScopes,
            resource,
            subject: sub,
            clientId,
            issuer: claimedIssuer,
            claims: frozen,
          }),
        policyTimeout,
        request.signal,
      )
      if (!Array.isArray(decided) || !decided.every(isScopeToken)) {
        throw new TypeError('scopePolicy must return an array of scope strings')
      }
      // 11. Single use, for the assertion's lifetime (plus the leeway it was accepted with).
      const first = await markUsed(
        replayStore,
        `${claimedIssuer} ${jti}`,
        exp + tolerance,
        storeTimeout,
        request.signal,
      )
      if (!first) throw grantError('The assertion was already used')
      return Object.freeze({
        subject: sub,
        clientId,
        issuer: claimedIssuer,
        resource,
        scopes: Object.freeze([...new Set(decided)]),
        assertionExpiresAt: exp,
        jti,
        claims: frozen,
      })
    },
    async ready() {
      await Promise.all([...verifiers.values()].map(({ keys }) => keys.ready()))
    },
    close() {
      // Resolvers passed in belong to the caller, who may share them; only ours are released.
      for (const { keys, owned } of verifiers.values()) if (owned) keys.close()
    },
  }
}

/**
 * Runs an application hook (the `resources` predicate, the `scopePolicy`), bounded: its answer
 * must come before `timeout` milliseconds and before `signal` aborts. A hook that throws, hangs
 * or is aborted cannot decide, so the verification rejects with `VerifierUnavailableError`
 * (503, reasons `policy_error`, `policy_timeout`, `aborted`) and never grants; the hook's own
 * error is the `cause`, never part of the message. Its late answer is dropped.
 */
async function callHook<T>(
  name: 'resources' | 'scopePolicy',
  hook: () => T | Promise<T>,
  timeout: number,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (signal?.aborted) {
    throw new VerifierUnavailableError('The request was aborted', {
      reason: 'aborted',
      cause: signal.reason,
    })
  }
  // An async wrapper: a synchronous throw is a failure of the hook like a rejection.
  const work = (async (): Promise<T> => hook())()
  try {
    return await raceAbort(
      raceDeadline(
        work,
        timeout,
        () =>
          new VerifierUnavailableError(`The ${name} hook did not answer in time`, {
            reason: 'policy_timeout',
          }),
      ),
      signal,
    )
  } catch (error) {
    if (isVerifierUnavailable(error)) throw error
    if (signal?.aborted === true) {
      throw new VerifierUnavailableError('The request was aborted', {
        reason: 'aborted',
        cause: error,
      })
    }
    throw new VerifierUnavailableError(`The ${name} hook failed`, {
      reason: 'policy_error',
      cause: error,
    })
  }
}

/**
 * Asks the replay store, bounded: the answer must come before `timeout` milliseconds and before
 * `signal` aborts, and must be a boolean. Anything else (a throw, a hang, an abort, a wrong type)
 * is `VerifierUnavailableError`: the assertion is refused as undecidable (503), never accepted,
 * and never called a replay (400) on a guess. A `VerifierUnavailableError` from the store passes
 * on unchanged; another error becomes the `cause`, never part of the message.
 */
function markUsed(
  store: ReplayStore,
  key: string,
  expiresAt: number,
  timeout: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const unavailable = (message: string, reason: string, cause?: unknown): Error =>
    new VerifierUnavailableError(message, { reason, ...(cause === undefined ? {} : { cause }) })
  if (signal?.aborted) {
    return Promise.reject(unavailable('The request was aborted', 'aborted', signal.reason))
  }
  return new Promise<boolean>((resolve, reject) => {
    let settled = false
    // The store's own signal: aborted when this wait ends, so a store can stop its work.
    const storeSignal = new AbortController()
    const finish = (action: () => void): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      storeSignal.abort()
      action()
    }
    const onAbort = (): void =>
      finish(() =>
        reject(unavailable('The request was aborted', 'aborted', signal?.reason as unknown)),
      )
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(unavailable('The replay store did not answer in time', 'replay_store_timeout')),
        ),
      timerDelay(timeout),
    )
    signal?.addEventListener('abort', onAbort, { once: true })
    // Called as a method, so a class-based store keeps its `this`; a synchronous throw becomes
    // a rejection of this async wrapper.
    const answer = (async (): Promise<unknown> =>
      store.markUsed(key, expiresAt, { signal: storeSignal.signal }))()
    answer.then(
      (value) =>
        finish(() => {
          if (typeof value === 'boolean') resolve(value)
          else {
            reject(
              unavailable(
                'The replay store answered something other than true or false',
                'replay_store_invalid_response',
              ),
            )
          }
        }),
      (error: unknown) =>
        finish(() =>
          reject(
            isVerifierUnavailable(error)
              ? error
              : unavailable('The replay store failed', 'replay_store_error', error),
          ),
        ),
    )
  })
}

/** The default {@link ScopePolicy}: the assertion's scopes, narrowed to the requested ones. */
export function defaultScopePolicy(context: ScopePolicyContext): string[] {
  const { assertionScopes, requestedScopes } = context
  if (requestedScopes === undefined || requestedScopes.length === 0) return [...assertionScopes]
  return assertionScopes.filter((scope) => requestedScopes.includes(scope))
}

function readResources(
  value: IdentityAssertionVerifierOptions['resources'],
): (resource: string) => Promise<boolean> {
  if (typeof value === 'function') return async (resource) => (await value(resource)) === true
  if (!Array.isArray(value) || value.length === 0 || !value.every((r) => typeof r === 'string')) {
    throw invalidArgument(
      'options.resources',
      'must be a non-empty array of resource URLs or a function',
    )
  }
  const known = new Set(value as readonly string[])
  return (resource) => Promise.resolve(known.has(resource))
}

/** Options of {@link verifyIdentityAssertion}: a verifier's options plus the request. */
export interface VerifyIdentityAssertionOptions
  extends
    Omit<IdentityAssertionVerifierOptions, 'trustedIssuers' | 'replayStore'>,
    IdentityAssertionRequest {
  /** The trusted identity providers and their keys. */
  keys: Readonly<Record<string, TrustedIssuer>>
  /** Required here: a store created per call would remember nothing. */
  replayStore: ReplayStore
}

/**
 * One-call form of {@link createIdentityAssertionVerifier}. Prefer the factory on a server: it keeps
 * the identity providers' keys cached between calls. Pass `KeyResolver`s in `keys` to share them.
 *
 * @example
 * ```ts
 * const grant = await verifyIdentityAssertion(assertion, {
 *   client, issuer: 'https://auth.example.com', keys: { [idp]: idpKeys },
 *   resources: ['https://mcp.example.com/mcp'], replayStore,
 * })
 * ```
 */
export async function verifyIdentityAssertion(
  assertion: string,
  options: VerifyIdentityAssertionOptions,
): Promise<IdentityAssertionGrant> {
  const { keys, client, scopes, resource, signal, ...rest } = options
  const verifier = createIdentityAssertionVerifier({ ...rest, trustedIssuers: keys })
  try {
    return await verifier.verify(assertion, {
      client,
      scopes,
      resource,
      ...(signal === undefined ? {} : { signal }),
    })
  } finally {
    verifier.close()
  }
}
