import { hash } from 'node:crypto'

/**
 * Key layout. Every key starts with the prefix; the part in braces is the Redis Cluster hash tag,
 * so a command (or script) only ever touches keys of one slot:
 *
 * - `{p}:r:{h}`        replay claim of one identifier (h: SHA-256 of the identifier)
 * - `{p}:s:{h}`        session owner (h: SHA-256 of the session id)
 * - `{p}:c:{h}`        shared cache value (h: SHA-256 of the caller's key, itself a token hash)
 * - `{p}:c:{h}:lock`   load lock of that value, in the same slot
 * - `{p}:{rev}:*`      the revocation list: entries, expiry index, change mark, change log (one
 *                      slot, so a revocation is one atomic script)
 *
 * Identifiers are hashed so that whatever a caller passes (a session id is a bearer secret too;
 * a careless caller might pass a raw token) never reaches Redis in the clear.
 */
export interface Keys {
  replay(id: string): string
  session(id: string): string
  cache(key: string): { value: string; lock: string; tag: string }
  readonly revocationEntries: string
  readonly revocationExpiry: string
  readonly revocationMark: string
  readonly revocationLog: string
  readonly revocationChannel: string
  readonly cacheChannel: string
}

/** SHA-256, base64url: the form every identifier takes inside a key. */
export const digest = (value: string): string => hash('sha256', value, 'base64url')

export function createKeys(prefix: string): Keys {
  return {
    replay: (id) => `${prefix}:r:{${digest(id)}}`,
    session: (id) => `${prefix}:s:{${digest(id)}}`,
    cache(key) {
      const tag = digest(key)
      return { value: `${prefix}:c:{${tag}}`, lock: `${prefix}:c:{${tag}}:lock`, tag }
    },
    revocationEntries: `${prefix}:{rev}:entries`,
    revocationExpiry: `${prefix}:{rev}:expiry`,
    revocationMark: `${prefix}:{rev}:mark`,
    revocationLog: `${prefix}:{rev}:log`,
    revocationChannel: `${prefix}:revocations`,
    cacheChannel: `${prefix}:cache-loaded`,
  }
}
