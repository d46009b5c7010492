import { invalidArgument } from '../errors.js'
import { createMemoryReplayStore, type ReplayStore } from './replay-store.js'
import { createMemoryRevocationList, type RevocationList } from './revocation-list.js'
import { createMemorySessionStore, type SessionStore } from './session-store.js'
import { createMemorySharedCache, type SharedResultCache } from './shared-cache.js'

/** The four stores a deployment shares: in memory for one process, on Redis for a fleet. */
export interface Stores {
  readonly replay: ReplayStore
  readonly sessions: SessionStore
  readonly cache: SharedResultCache
  readonly revocations: RevocationList
  /** Where they live: `memory` or `redis`. */
  readonly kind: 'memory' | 'redis'
  /** Resolves once the stores can answer (Redis reachable, revocations loaded). */
  ready(): Promise<void>
  /** Closes what the stores opened. */
  close(): Promise<void>
}

/**
 * The in-memory {@link Stores}: bounded, for one process (and for `npm start` without Redis).
 *
 * @example
 * ```ts
 * const stores = createMemoryStores()
 * ```
 */
export function createMemoryStores(): Stores {
  return Object.freeze({
    kind: 'memory',
    replay: createMemoryReplayStore(),
    sessions: createMemorySessionStore(),
    cache: createMemorySharedCache(),
    revocations: createMemoryRevocationList(),
    ready: () => Promise.resolve(),
    close: () => Promise.resolve(),
  })
}

/** Options of {@link createStoresFromEnv}. */
export interface StoresFromEnvOptions {
  /** Variable prefix. Default `BEARERKIT_`. */
  prefix?: string
  /** How to load `@bearerkit/redis`. Default: dynamic `import()`. */
  load?: (packageName: string) => Promise<unknown>
}

/**
 * The stores the environment asks for: on Redis when `BEARERKIT_REDIS_URL` is set (through
 * `@bearerkit/redis`, loaded on demand, with `BEARERKIT_REDIS_PREFIX`, `BEARERKIT_REDIS_TIMEOUT`,
 * `BEARERKIT_REVOCATION_MAX_STALENESS`, `BEARERKIT_REVOCATION_SYNC_INTERVAL`), in memory
 * otherwise. Await `ready()` before serving.
 *
 * @throws TypeError naming the variable at fault, or (`ERR_MODULE_NOT_FOUND`) the package to
 *   install.
 * @example
 * ```ts
 * const stores = await createStoresFromEnv(process.env)
 * await stores.ready()
 * ```
 */
export async function createStoresFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: StoresFromEnvOptions = {},
): Promise<Stores> {
  const prefix = options.prefix ?? 'BEARERKIT_'
  const url = env[`${prefix}REDIS_URL`]
  if (url === undefined || url.trim() === '') return createMemoryStores()
  const load = options.load ?? ((name: string) => import(name) as Promise<unknown>)
  let mod: Record<string, unknown>
  try {
    mod = (await load('@bearerkit/redis')) as Record<string, unknown>
  } catch (cause) {
    if ((cause as { code?: unknown } | null)?.code === 'ERR_MODULE_NOT_FOUND') {
      const error = new TypeError(
        `${prefix}REDIS_URL needs the package @bearerkit/redis: run npm install @bearerkit/redis ioredis`,
        { cause },
      ) as TypeError & { code: string }
      error.code = 'ERR_MODULE_NOT_FOUND'
      throw error
    }
    throw cause
  }
  const fromEnv = mod.redisStoresOptionsFromEnv
  const create = mod.createRedisStores
  if (typeof fromEnv !== 'function' || typeof create !== 'function') {
    throw invalidArgument(
      `${prefix}REDIS_URL`,
      'loaded @bearerkit/redis, which has no createRedisStores',
    )
  }
  const stores = (create as (o: unknown) => Omit<Stores, 'kind'>)(
    (fromEnv as (e: unknown, p: string) => unknown)(env, prefix),
  )
  return Object.freeze({
    kind: 'redis',
    replay: stores.replay,
    sessions: stores.sessions,
    cache: stores.cache,
    revocations: stores.revocations,
    ready: () => stores.ready(),
    close: () => stores.close(),
  })
}
