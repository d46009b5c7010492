import {
  invalidArgument,
  revokeClient,
  revokeSubject,
  revokeToken,
  type RevokeCutoffOptions,
} from '@bearerkit/core'
import { createRedisStores } from './redis-stores.js'
import type { RedisStoresOptions } from './options.js'

/** What {@link revokeInRedis} revokes: exactly one of a `jti`, a subject or a client. */
export type RevokeTarget =
  | { jti: string; expiresAt: number }
  | { issuer: string | null; subject: string }
  | { clientId: string }

/**
 * Revokes a token, a subject or a client in one call, for scripts and command lines: opens its
 * own connection (`url`, or your `redis`), records the revocation (every instance hears of it at
 * once), and closes what it opened.
 *
 * @example
 * ```ts
 * // node -e "import('@bearerkit/redis').then((r) => r.revokeInRedis({ url: process.env.BEARERKIT_REDIS_URL }, { clientId: 'leaky' }))"
 * await revokeInRedis({ url: 'redis://127.0.0.1:6379' }, { issuer: 'https://login.example.com/', subject: 'alice' })
 * ```
 */
export async function revokeInRedis(
  options: Omit<RedisStoresOptions, 'revocations'>,
  target: RevokeTarget,
  cutoff: Omit<RevokeCutoffOptions, 'signal'> = {},
): Promise<void> {
  if (typeof target !== 'object' || target === null) {
    throw invalidArgument('target', 'must name a jti, a subject or a client')
  }
  const stores = createRedisStores({ ...options, revocations: { syncInterval: 0 } })
  try {
    await stores.ready()
    const list = stores.revocations
    if ('jti' in target) await revokeToken(list, target)
    else if ('subject' in target) await revokeSubject(list, target, cutoff)
    else if ('clientId' in target) await revokeClient(list, target, cutoff)
    else throw invalidArgument('target', 'must name a jti, a subject or a client')
  } finally {
    await stores.close()
  }
}
