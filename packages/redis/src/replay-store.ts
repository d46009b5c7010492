import { invalidStoreAnswer, type ReplayStore } from '@bearerkit/core'
import type { Connection } from './lib/connection.js'
import { FORMAT_VERSION } from './lib/codec.js'
import type { Keys } from './lib/keys.js'

/**
 * The replay store on Redis: `SET {p}:r:{sha256(id)} v1 NX PXAT expiry`. `SET ... NX` is atomic on
 * its own, so of two instances claiming one identifier at once exactly one gets `OK`; no script
 * and no transaction are needed. The key expires with the identifier (Redis >= 6.2 for `PXAT`).
 *
 * @see https://redis.io/docs/latest/commands/set/ SET (NX, PXAT)
 */
export function createRedisReplayStore(
  connection: Connection,
  keys: Keys,
  now: () => number,
): ReplayStore {
  return {
    async markUsed(id, expiresAt, options) {
      // Keep the claim at least a second even for an identifier at the edge of its life: holding
      // it a little longer costs nothing, an expiry in the past would not hold it at all. PXAT
      // takes whole milliseconds: a clock with a fraction would make every claim an error.
      const until = Math.ceil(Math.max(expiresAt * 1000, now() + 1000))
      const answer = await connection.run(
        'replay',
        (client) => client.set(keys.replay(id), `v${FORMAT_VERSION}`, 'PXAT', until, 'NX'),
        options,
      )
      if (answer === 'OK') return true
      if (answer === null) return false
      throw invalidStoreAnswer('replay')
    },
  }
}
