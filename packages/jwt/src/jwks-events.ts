/**
 * Name of the `node:diagnostics_channel` channel on which JWKS and discovery activity is published
 * as {@link JwksEvent}s. Events never carry a token, a part of one, or key material.
 *
 * @example
 * ```ts
 * import diagnostics from 'node:diagnostics_channel'
 * import { JWKS_CHANNEL, type JwksEvent } from '@bearerkit/jwt'
 *
 * diagnostics.subscribe(JWKS_CHANNEL, (message) => {
 *   const event = message as JwksEvent
 *   if (event.type === 'stale') logger.warn({ jwksUri: event.jwksUri, age: event.age }, 'serving a stale JWKS')
 * })
 * ```
 * @see https://nodejs.org/api/diagnostics_channel.html
 */
export const JWKS_CHANNEL = 'bearerkit:jwks'

/**
 * What started a JWKS fetch.
 *
 * @example
 * ```ts
 * if (event.trigger === 'unknown_kid') metrics.count('jwks.rotation_fetch')
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5 RFC 7517 §5 (JWK Set)
 */
export type JwksTrigger = 'ready' | 'cold' | 'max_age' | 'unknown_kid'

/**
 * One JWKS event (see {@link JWKS_CHANNEL} for an example of a subscriber).
 *
 * - `discovered`: discovery found the issuer's `jwks_uri`;
 * - `fetched`: a key set was fetched and accepted (`keys` usable keys);
 * - `fetch_failed`: discovery or a JWKS fetch failed (`reason` as in `VerifierUnavailableError`,
 *   `retryAfter` seconds before the next attempt);
 * - `stale`: the refresh failed and the last good set (`age` seconds old) keeps being used, within
 *   the `staleIfError` window;
 * - `key_skipped`: a key in a fetched set is not used (`reason`: `use`, `key_ops`, `symmetric`,
 *   `weak_key`, `alg_mismatch`, `unsupported_key` ...).
 *
 * @see https://nodejs.org/api/diagnostics_channel.html
 */
export interface JwksEvent {
  readonly type: 'discovered' | 'fetched' | 'fetch_failed' | 'stale' | 'key_skipped'
  /** The JWKS URI, once known (absent when discovery itself failed). */
  readonly jwksUri?: string
  /** The issuer, when the URI comes from discovery. */
  readonly issuer?: string
  readonly trigger?: JwksTrigger
  readonly keys?: number
  readonly reason?: string
  /** The `kid` of a skipped key, when it has a valid one. */
  readonly kid?: string
  /** Age of the set being used, in seconds. */
  readonly age?: number
  /** Seconds before the next fetch attempt. */
  readonly retryAfter?: number
  /** Wall time of the fetch, in milliseconds. */
  readonly duration?: number
}
