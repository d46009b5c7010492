export { createRedisStores, type RedisStores } from './redis-stores.js'
export {
  resolveRedisStoresOptions,
  type RedisRevocationOptions,
  type RedisStoresOptions,
  type RedisStoresSettings,
} from './options.js'
export type { RedisRevocationList } from './revocation-list.js'
export { redisStoresOptionsFromEnv } from './env.js'
export { revokeInRedis, type RevokeTarget } from './revoke.js'
