import { invalidArgument } from '../errors.js'
import type { StoreCallOptions } from './store-call.js'
import { readRevocation } from './revocation-set.js'
import type { RevocationList } from './revocation-list.js'

/**
 * Default life of a subject or client revocation, in seconds: one day past its cutoff. Tokens
 * issued before the cutoff must all have expired by then; raise it if yours live longer.
 */
export const DEFAULT_REVOCATION_LIFETIME = 86_400

/** Options shared by {@link revokeSubject} and {@link revokeClient}. */
export interface RevokeCutoffOptions extends StoreCallOptions {
  /** Revoke tokens issued at or before this time (seconds). Default: now. */
  before?: number
  /** Keep the revocation until this time (seconds). Default `before` + one day. */
  expiresAt?: number
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

const cutoff = (option: string, options: RevokeCutoffOptions): [number, number] => {
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalidArgument(`${option}.now`, 'must be a function returning milliseconds')
  }
  const before = options.before ?? Math.floor((options.now ?? Date.now)() / 1000)
  return [before, options.expiresAt ?? before + DEFAULT_REVOCATION_LIFETIME]
}

const signalOf = (options: StoreCallOptions): StoreCallOptions =>
  options.signal === undefined ? {} : { signal: options.signal }

/**
 * Revokes one token by its `jti`, until its `exp` (after that it is refused anyway).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009 RFC 7009 (token revocation, at the authorization server)
 * @example
 * ```ts
 * await revokeToken(revocations, { jti: accessToken.claims.jti as string, expiresAt: accessToken.expiresAt! })
 * ```
 */
export async function revokeToken(
  list: RevocationList,
  token: { jti: string; expiresAt: number },
  options: StoreCallOptions = {},
): Promise<void> {
  const revocation = readRevocation('token', { type: 'token', ...token })
  await list.revoke(revocation, signalOf(options))
}

/**
 * Revokes every token of one end user (`issuer`, `subject`) issued at or before `before`
 * (default: now). Tokens issued later (after the user signed in again) are accepted.
 *
 * @example
 * ```ts
 * await revokeSubject(revocations, { issuer: 'https://login.example.com/', subject: 'alice' })
 * ```
 */
export async function revokeSubject(
  list: RevocationList,
  principal: { issuer: string | null; subject: string },
  options: RevokeCutoffOptions = {},
): Promise<void> {
  const [before, expiresAt] = cutoff('options', options)
  const revocation = readRevocation('principal', {
    type: 'subject',
    issuer: principal.issuer,
    subject: principal.subject,
    before,
    expiresAt,
  })
  await list.revoke(revocation, signalOf(options))
}

/**
 * Revokes every token of one client issued at or before `before` (default: now): a leaked
 * client, or one whose grants were withdrawn.
 *
 * @example
 * ```ts
 * await revokeClient(revocations, { clientId: 'leaky-client' })
 * ```
 */
export async function revokeClient(
  list: RevocationList,
  client: { clientId: string },
  options: RevokeCutoffOptions = {},
): Promise<void> {
  const [before, expiresAt] = cutoff('options', options)
  const revocation = readRevocation('client', {
    type: 'client',
    clientId: client.clientId,
    before,
    expiresAt,
  })
  await list.revoke(revocation, signalOf(options))
}
