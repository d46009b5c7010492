import {
  DEFAULT_MAX_TOKEN_LENGTH,
  Refusal,
  defineVerifier,
  isB64Token,
  loadThroughSharedCache,
  TokenKey,
  raceAbort,
  tokenCacheKey,
  type SharedCacheValue,
  type VerifyFunction,
  readClock,
} from '@bearerkit/core'
import { LRUCache } from 'lru-cache'
import { decide, parseAnswer, type Answer, type Policy } from './lib/answer.js'
import { createEndpointResolver } from './lib/endpoint.js'
import { introspect } from './lib/introspect.js'
import { createSignalGroup } from './lib/linked-signal.js'
import type { HttpGuards } from './lib/jwt-response.js'
import { resolveOptions } from './lib/resolve-options.js'
import { DEFAULT_RETRY_AFTER, asUnavailable, unavailable } from './lib/unavailable.js'
import type { IntrospectionVerifier, IntrospectionVerifierOptions } from './options.js'

/**
 * A cached answer, the token it is about (a key match is a hit only for that token) and the
 * instant (milliseconds since the epoch) it dies.
 */
type Entry = Answer & { readonly token: string; readonly until: number }

const MALFORMED = new Refusal('malformed', 'The access token is malformed')

/**
 * Creates a verifier that asks the authorization server about each token (RFC 7662 token
 * introspection), with a bounded cache in front.
 *
 * - the endpoint is `introspectionUrl`, or discovered from `issuer` (RFC 8414, then OpenID
 *   Connect Discovery);
 * - requests carry `token_type_hint=access_token` and client authentication
 *   (`client_secret_basic` by default, `client_secret_post`, `private_key_jwt` or `none`); they
 *   have a deadline and a size limit, never follow redirects, and are retried (with jitter) only
 *   after a network error or a 5xx;
 * - an answer is active only when `active` is the boolean `true`; it is then refused when `exp`
 *   has passed, when `token_type` is not an access token type, when it is sender-constrained
 *   (`cnf`), when `iss` differs from `issuer`, when `aud` names none of `audience`, or when a
 *   required scope is missing;
 * - answers are cached under a keyed hash of the token until min(ttl, `exp`), inactive answers for
 *   `negativeTtl`; every check above runs again on each use, and identical concurrent requests
 *   share one introspection;
 * - a failure (down, slow, 5xx, redirect, oversized or malformed answer) rejects with
 *   `VerifierUnavailableError` carrying `retryAfter`, and is never cached.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the option at fault.
 * @see https://www.rfc-editor.org/rfc/rfc7662 RFC 7662
 * @see https://www.rfc-editor.org/rfc/rfc9701 RFC 9701 (signed answers, option `jwtResponse`)
 * @example
 * ```ts
 * const verifier = createIntrospectionVerifier({
 *   issuer: 'https://login.example.com',
 *   audience: 'https://api.example.com/mcp',
 *   clientId: 'mcp-server',
 *   clientSecret: process.env.INTROSPECTION_SECRET,
 *   requiredScopes: ['mcp:tools'],
 * })
 * const accessToken = await verifier.verifyToken(token) // null when refused
 * ```
 */
export function createIntrospectionVerifier(
  options: IntrospectionVerifierOptions,
): IntrospectionVerifier {
  const settings = resolveOptions(options)
  const { now } = settings
  const closer = new AbortController()
  const guards: HttpGuards = {
    timeout: settings.timeout,
    maxBytes: settings.maxResponseBytes,
    signal: closer.signal,
    fetch: settings.fetch,
    now,
  }
  const policy: Policy = {
    issuer: settings.issuer,
    audience: settings.audience,
    requiredScopes: settings.requiredScopes,
    requireTokenType: settings.requireTokenType,
  }
  const endpoint = createEndpointResolver(settings, guards)
  // One listener on closer.signal for every introspection in flight, however many.
  const requests = createSignalGroup(closer.signal)
  const cacheSettings = settings.cache
  const cache =
    cacheSettings === null ? null : new LRUCache<string, Entry>({ max: cacheSettings.max })
  const ttl = (cacheSettings?.ttl ?? 0) * 1000
  const negativeTtl = (cacheSettings?.negativeTtl ?? 0) * 1000
  const inFlight = new Map<string, Promise<Entry>>()
  // Bumped by clear(): an introspection that started before it must not refill the cache.
  let generation = 0
  // Mirrors closer.signal.aborted, read on every call without the getter.
  let closed = false

  // The raw answer for `token`: from the fleet's shared tier when there is one, else asked.
  const shared = settings.sharedCache
  // Two verifiers share an answer only when they ask the same endpoint as the same client; what
  // each then accepts is decided by its own policy on every use.
  const sharedNamespace = [
    settings.introspectionUrl?.href ?? settings.issuer,
    settings.clientAuth.clientId ?? '',
    settings.jwtResponse === null ? 'json' : 'jwt',
  ].join('\n')
  const ask = async (token: string): Promise<unknown> => {
    const target = await endpoint()
    // Object.assign, not `{ ...guards, signal }`: V8 (Node 20) builds a literal that starts with a
    // spread and goes on through a slow path, over a microsecond each.
    return requests.run((signal) =>
      introspect(token, target, settings, Object.assign({}, guards, { signal })),
    )
  }
  const askThroughShared = async (token: string): Promise<Answer> => {
    if (shared === null)
      return parseAnswer(token, await ask(token), settings.claims, settings.issuer)
    let loaded: Answer | undefined
    const { value, source } = await loadThroughSharedCache(
      shared.store,
      // SHA-256, not the in-process key: every instance of the fleet must compute the same key
      // for a token, and processTokenKey's secret differs from one process to the next.
      tokenCacheKey(`${sharedNamespace}\n${token}`),
      async () => {
        const document = await ask(token)
        // Validated before it is shared: only well-formed answers reach the other instances.
        loaded = parseAnswer(token, document, settings.claims, settings.issuer)
        const at = now()
        const expiresAt = loaded.accessToken?.expiresAt
        const ttl =
          loaded.accessToken === null
            ? shared.negativeTtl
            : expiresAt === undefined
              ? shared.ttl
              : Math.min(shared.ttl, expiresAt * 1000 - at)
        return { value: document as SharedCacheValue, ttl }
      },
      { lockTtl: shared.lockTtl },
    )
    if (source === 'loaded') return loaded as Answer
    try {
      return parseAnswer(token, value, settings.claims, settings.issuer)
    } catch {
      // A shared value that is not a well-formed answer only costs speed: ask the server.
      return parseAnswer(token, await ask(token), settings.claims, settings.issuer)
    }
  }

  const load = async (key: string, token: string): Promise<Entry> => {
    const started = generation
    let answer: Answer
    try {
      answer = await askThroughShared(token)
    } catch (error) {
      throw asUnavailable(error, 'Token introspection')
    }
    const at = now()
    let until: number
    if (answer.accessToken === null) {
      until = at + negativeTtl
    } else {
      // The entry never outlives the token: min(ttl, exp).
      const expiresAt = answer.accessToken.expiresAt
      until = expiresAt === undefined ? at + ttl : Math.min(at + ttl, expiresAt * 1000)
    }
    // Member by member (a literal starting with a spread takes V8's slow path, see above).
    const entry = {
      accessToken: answer.accessToken,
      refusal: answer.refusal,
      token,
      until,
    } as Entry
    if (cache !== null && until > at && started === generation) cache.set(key, entry)
    return entry
  }

  // A clock that gives no number would pass the exp and nbf checks: 503, never an acceptance.
  const readNow = (): number => readClock(now, 'the access token', DEFAULT_RETRY_AFTER)

  // A cache hit answers synchronously, so defineVerifier settles it without a microtask round.
  const check: VerifyFunction = (token, verifyOptions) => {
    if (closed) throw closer.signal.reason
    // Checked before hashing so an oversized token costs nothing.
    if (token.length > DEFAULT_MAX_TOKEN_LENGTH) return MALFORMED
    // The per-process keyed hash: never the token, and cheaper than SHA-256 on every hit.
    const key = TokenKey.of(token, verifyOptions.tokenKey)
    if (cache !== null) {
      const hit = cache.get(key)
      // Another token under the same key (a collision, never seen in practice) is a miss.
      if (hit !== undefined && hit.token === token) {
        const at = readNow()
        // A hit is judged against the clock every time and never extends its entry.
        if (at < hit.until) return decide(hit, token, at, policy, verifyOptions.senderConstraint)
        cache.delete(key)
      }
    }
    // RFC 6750 §2.1 b64token: anything else cannot have come from an Authorization header and is
    // refused before it costs a request.
    if (!isB64Token(token)) return MALFORMED
    let pending = inFlight.get(key)
    if (pending === undefined) {
      const started = load(key, token)
      pending = started
      inFlight.set(key, started)
      const forget = (): void => {
        if (inFlight.get(key) === started) inFlight.delete(key)
      }
      started.then(forget, forget)
    }
    // Each caller may give up on a shared introspection without cancelling it for the others. An
    // introspection of another token under the same key is not joined: this token gets its own.
    return raceAbort(pending, verifyOptions.signal).then((entry) =>
      entry.token === token
        ? decide(entry, token, readNow(), policy, verifyOptions.senderConstraint)
        : raceAbort(load(key, token), verifyOptions.signal).then((own) =>
            decide(own, token, readNow(), policy, verifyOptions.senderConstraint),
          ),
    )
  }

  const verifier = defineVerifier('introspection', check)
  return {
    verifyToken: verifier.verifyToken.bind(verifier),
    async ready() {
      if (closed) throw closer.signal.reason
      try {
        const { keys } = await endpoint()
        if (keys?.kind === 'remote' && !keys.jwks.fresh) await keys.jwks.reload()
      } catch (error) {
        throw asUnavailable(error, 'Token introspection setup')
      }
    },
    clear() {
      generation++
      cache?.clear()
      inFlight.clear()
    },
    get size() {
      return cache?.size ?? 0
    },
    close() {
      if (!closed) {
        closed = true
        closer.abort(unavailable('The introspection verifier is closed', 'closed'))
        generation++
        cache?.clear()
        inFlight.clear()
      }
      return Promise.resolve()
    },
  }
}
