import { invalidStoreAnswer, isPrincipalComponents, type SessionStore } from '@bearerkit/core'
import type { Connection } from './lib/connection.js'
import { decodeValue, encodeValue } from './lib/codec.js'
import type { Keys } from './lib/keys.js'

const milliseconds = (ttl: number): number => Math.max(1, Math.ceil(ttl))

// PEXPIRE and DEL of one key answer 1 or 0. Anything else is not an answer: the session may be
// there or not, so it is a failure (503), not a "no such session" (404 for its real owner).
const existed = (answer: unknown): boolean => {
  if (answer === 1) return true
  if (answer === 0) return false
  throw invalidStoreAnswer('session')
}

/**
 * The session store on Redis: one key per session (`{p}:s:{sha256(id)}`, the session id itself is
 * never stored), holding `{"v":1,"p":[clientId, issuer, subject]}` with a `PX` time to live.
 *
 * A value that cannot be read (another format version, garbage) is a failure, not an unknown
 * session: answering 404 would lock the real owner out, answering with a guess could let another
 * principal in. The caller answers 503 and the next release reads it.
 */
export function createRedisSessionStore(connection: Connection, keys: Keys): SessionStore {
  return {
    async set(sessionId, principal, ttl, options) {
      const answer = await connection.run(
        'session',
        (client) =>
          client.set(
            keys.session(sessionId),
            encodeValue({ p: principal }),
            'PX',
            milliseconds(ttl),
          ),
        options,
      )
      if (answer !== 'OK') throw invalidStoreAnswer('session')
    },
    async get(sessionId, options) {
      const text = await connection.run(
        'session',
        (client) => client.get(keys.session(sessionId)),
        options,
      )
      if (text === null) return null
      const principal = decodeValue(text)?.p
      if (!isPrincipalComponents(principal)) throw invalidStoreAnswer('session')
      return Object.freeze([principal[0], principal[1], principal[2]] as const)
    },
    async touch(sessionId, ttl, options) {
      const answer = await connection.run(
        'session',
        (client) => client.pexpire(keys.session(sessionId), milliseconds(ttl)),
        options,
      )
      return existed(answer)
    },
    async delete(sessionId, options) {
      const answer = await connection.run(
        'session',
        (client) => client.del(keys.session(sessionId)),
        options,
      )
      return existed(answer)
    },
  }
}
