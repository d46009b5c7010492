import { Refusal } from '@bearerkit/core'
import type { KeyInput, SecretInput } from './lib/import-key.js'
import { KeySet, type LookupMiss } from './lib/key-set.js'
import type { PreparedKey } from './lib/prepared-key.js'
import { RemoteKeySet, closedError } from './lib/remote-key-set.js'
import {
  JWKS_DEFAULTS,
  resolveKeyResolverOptions,
  type KeySourceSettings,
} from './lib/resolve-options.js'
import type { JwsHeader } from './verify-jws.js'

export type { KeyInput, SecretInput } from './lib/import-key.js'

/**
 * A key able to verify signatures, prepared once: the algorithms it may verify are fixed (the
 * allow-list, narrowed by the key's type and its JWK `alg`).
 *
 * @example
 * ```ts
 * const ok = key.algorithms.has('ES256') && key.verify('ES256', signingInput, signature)
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-4.4 RFC 7517 §4.4 (`alg` of a JWK)
 */
export interface VerificationKey {
  /** The JWK `kid`, when the key has one. */
  readonly kid: string | undefined
  /** Every algorithm this key may verify. */
  readonly algorithms: ReadonlySet<string>
  /** Whether `signature` is a valid `alg` signature of `data`. Never throws. */
  verify(alg: string, data: Uint8Array, signature: Uint8Array): boolean
}

/**
 * Finds the keys that may verify a JWS. bearerkit builds them with {@link createKeyResolver}; an
 * implementation of your own must refuse rather than guess, and throw `VerifierUnavailableError`
 * when it cannot decide. Anything else it throws, and any answer that is neither keys nor a
 * `Refusal`, is taken as "cannot decide" too (`VerifierUnavailableError`, reason `key_resolver`).
 * It may start other verifications from within `resolve`: they cannot disturb the one asking.
 *
 * @example
 * ```ts
 * const keys: KeyResolver = createKeyResolver({ jwksUri: 'https://idp.example.com/keys' })
 * await keys.ready()
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-4.1.4 RFC 7515 §4.1.4 (`kid`)
 */
export interface KeyResolver {
  /**
   * The keys that may verify a JWS with this (already checked) protected header and this
   * (not yet verified) payload, or a `Refusal` (`unknown_key`, `algorithm_not_allowed`, or, for
   * resolvers that route by issuer, `wrong_issuer` ...). Keys at hand may be returned directly;
   * a promise is needed only when they have to be fetched.
   *
   * @throws VerifierUnavailableError (or rejects with it) when the keys cannot be had now.
   */
  resolve(
    header: JwsHeader,
    payload: Readonly<Record<string, unknown>>,
    signal?: AbortSignal,
  ): KeysOrRefusal | Promise<KeysOrRefusal>
  /** Loads the keys now (a JWKS fetch, discovery); rejects with `VerifierUnavailableError`. */
  ready(): Promise<void>
  /** Releases the resolver: pending fetches are aborted, later calls reject. */
  close(): void
}

/** What {@link KeyResolver.resolve} answers. */
export type KeysOrRefusal = readonly VerificationKey[] | Refusal

/**
 * JWKS cache settings. Durations on the token time scale are in seconds; `timeout` is in
 * milliseconds.
 *
 * @example
 * ```ts
 * const jwks: JwksOptions = { maxAge: 300, cooldown: 60, timeout: 2000, staleIfError: 900 }
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5 RFC 7517 §5 (JWK Set)
 */
export interface JwksOptions {
  /** Age after which the set is fetched again, in seconds. Default 600. */
  maxAge?: number | undefined
  /** Least time between two fetches caused by an unknown `kid`, in seconds. Default 30. */
  cooldown?: number | undefined
  /** Deadline of one request (discovery or JWKS), in milliseconds. Default 5,000. */
  timeout?: number | undefined
  /**
   * How long past `maxAge` the last good set keeps being used while refreshing fails, in seconds.
   * Default 3,600. `0` turns it off.
   */
  staleIfError?: number | undefined
  /** Wait after the first failed fetch, in seconds, doubling with each failure. Default 1. */
  backoff?: number | undefined
  /** Longest wait between failed fetches, in seconds. Default 60. */
  maxBackoff?: number | undefined
  /** Largest JWKS or metadata document accepted, in bytes. Default 256 KiB. */
  maxBytes?: number | undefined
}

/**
 * Options of {@link createKeyResolver}: exactly one key source.
 *
 * @example
 * ```ts
 * const options: KeyResolverOptions = { issuer: 'https://idp.example.com', algorithms: ['RS256'] }
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2 RFC 8414 §2 (`jwks_uri`)
 */
export interface KeyResolverOptions {
  /**
   * Issuer identifier. Used for discovery (RFC 8414, then OpenID Connect Discovery) when neither
   * `jwksUri` nor `key` is given; the metadata must name this exact issuer.
   */
  issuer?: string
  /** The JWKS URI (https, or http on loopback). */
  jwksUri?: string | URL
  /**
   * A static key: PEM SPKI or X.509 certificate, JWK or JWK Set (object or JSON text), KeyObject,
   * CryptoKey. A string is never a shared secret: use `secret`.
   */
  key?: KeyInput
  /** A shared secret for HS256, HS384 or HS512 (with them listed in `algorithms`). */
  secret?: SecretInput
  /** Algorithms keys are prepared for. Default {@link DEFAULT_ALGORITHMS}. */
  algorithms?: readonly string[]
  /** JWKS cache settings (remote sources only). */
  jwks?: JwksOptions
  /**
   * Deadline of one discovery or JWKS request, in milliseconds (the `BEARERKIT_TIMEOUT` setting).
   * Default 5,000; `jwks.timeout` overrides it. No effect with a static key.
   */
  timeout?: number
  /** Clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
  /** The `fetch` used for discovery and the JWKS. Default: the global one. */
  fetch?: typeof fetch
}

/**
 * Default JWKS cache settings, in the units of {@link JwksOptions}.
 *
 * @example
 * ```ts
 * createJwtVerifier({ ...options, jwks: { maxAge: DEFAULT_JWKS_OPTIONS.maxAge / 2 } })
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5 RFC 7517 §5 (JWK Set)
 */
export const DEFAULT_JWKS_OPTIONS: Readonly<Required<JwksOptions>> = JWKS_DEFAULTS

const MISSES: Readonly<Record<LookupMiss, Refusal>> = {
  unknown_kid: new Refusal('unknown_key', 'The token is signed with an unknown key'),
  algorithm: new Refusal('algorithm_not_allowed', 'The signing key does not allow this algorithm'),
  no_key: new Refusal('algorithm_not_allowed', 'No key allows the algorithm of the token'),
  ambiguous: new Refusal(
    'unknown_key',
    'The token names no key (kid) and several keys could verify it',
  ),
}

function answer(found: readonly PreparedKey[] | LookupMiss): KeysOrRefusal {
  return typeof found === 'string' ? MISSES[found] : found
}

/**
 * Builds the key handling of a JWT verifier on its own, for any JWS verified with an issuer's
 * keys: an RFC 9068 access token, an RFC 7523 assertion, an ID-JAG (SEP-990). Pair it with
 * {@link createJwsVerifier}.
 *
 * Exactly one source: `jwksUri`; a static `key` and/or `secret`; or none, and the JWKS URI is
 * discovered from `issuer`. Unknown options are refused, naming the nearest known one.
 * A fetched JWKS is cached as {@link JwksOptions} describe; only public signature keys are used
 * (`use`, `key_ops` and `alg` respected, RSA under 2048 bits refused, a set with private material
 * refused whole). `HS*` algorithms need a configured `secret`: a JWKS never supplies one.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for a configuration mistake, naming the option
 * (`optionPath` prefixes the names, default `options`).
 * @example
 * ```ts
 * const keys = createKeyResolver({ issuer: 'https://idp.example.com', algorithms: ['RS256'] })
 * const assertions = createJwsVerifier({ keys, types: ['oauth-id-jag+jwt'] })
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7517 RFC 7517 (JWK)
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3 RFC 8414 §3 (metadata discovery)
 */
export function createKeyResolver(
  options: KeyResolverOptions,
  optionPath = 'options',
): KeyResolver {
  return keyResolverFrom(resolveKeyResolverOptions(options, optionPath))
}

/** The resolver of one key source whose settings are read (internal: not in the index). */
export function keyResolverFrom(settings: KeySourceSettings): KeyResolver {
  if (settings.keys !== undefined) {
    const set = new KeySet(settings.keys, true)
    let closed = false
    return {
      resolve: (header) => {
        if (closed) throw closedError()
        return answer(set.lookup(header.kid, header.alg))
      },
      ready: () => (closed ? Promise.reject(closedError()) : Promise.resolve()),
      close: () => {
        closed = true
      },
    }
  }
  const remote = new RemoteKeySet({
    ...settings.jwks,
    jwksUri: settings.jwksUri,
    issuer: settings.issuer ?? '',
    algorithms: settings.algorithms,
    now: settings.now,
    fetch: settings.fetch,
  })
  return {
    resolve: (header, _payload, signal) => {
      const cached = remote.cached(header.kid, header.alg)
      return cached === undefined
        ? remote.lookup(header.kid, header.alg, signal).then(answer)
        : answer(cached)
    },
    ready: () => remote.ready(),
    close: () => remote.close(),
  }
}
