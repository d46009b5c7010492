import { invalidArgument } from '@bearerkit/core'
import type { RedisStoresOptions } from './options.js'

const readMilliseconds = (name: string, value: string): number => {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 0) {
    throw invalidArgument(name, 'must be a whole number of milliseconds')
  }
  return n
}

/**
 * Builds {@link RedisStoresOptions} from environment variables, for {@link createRedisStores}.
 *
 * | variable (default prefix `BEARERKIT_`) | option |
 * | --- | --- |
 * | `REDIS_URL` (required) | `url` (`redis://` or `rediss://`) |
 * | `REDIS_PREFIX` | `prefix` |
 * | `REDIS_TIMEOUT` (milliseconds) | `timeout` |
 * | `REVOCATION_MAX_STALENESS` (milliseconds) | `revocations.maxStaleness` |
 * | `REVOCATION_SYNC_INTERVAL` (milliseconds) | `revocations.syncInterval` |
 *
 * Empty variables count as unset. Returns `null` when `REDIS_URL` is not set: the caller keeps
 * the in-memory stores.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the variable at fault (never its value: a
 *   URL may carry a password).
 * @example
 * ```ts
 * const options = redisStoresOptionsFromEnv(process.env)
 * const stores = options === null ? undefined : createRedisStores(options)
 * ```
 */
export function redisStoresOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  prefix = 'BEARERKIT_',
): RedisStoresOptions | null {
  const get = (name: string): string | undefined => {
    const value = env[prefix + name]
    return value === undefined || value.trim() === '' ? undefined : value.trim()
  }
  const url = get('REDIS_URL')
  if (url === undefined) return null
  const options: RedisStoresOptions = { url }
  const keyPrefix = get('REDIS_PREFIX')
  if (keyPrefix !== undefined) options.prefix = keyPrefix
  const timeout = get('REDIS_TIMEOUT')
  if (timeout !== undefined) options.timeout = readMilliseconds(`${prefix}REDIS_TIMEOUT`, timeout)
  const maxStaleness = get('REVOCATION_MAX_STALENESS')
  const syncInterval = get('REVOCATION_SYNC_INTERVAL')
  if (maxStaleness !== undefined || syncInterval !== undefined) {
    options.revocations = {
      ...(maxStaleness === undefined
        ? {}
        : {
            maxStaleness: readMilliseconds(`${prefix}REVOCATION_MAX_STALENESS`, maxStaleness),
          }),
      ...(syncInterval === undefined
        ? {}
        : {
            syncInterval: readMilliseconds(`${prefix}REVOCATION_SYNC_INTERVAL`, syncInterval),
          }),
    }
  }
  return options
}
