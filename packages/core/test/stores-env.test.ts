import t from 'tap'
import { createMemoryStores, createStoresFromEnv } from '../src/index.js'

t.test('no BEARERKIT_REDIS_URL: bounded in-memory stores', async (t) => {
  for (const env of [{}, { BEARERKIT_REDIS_URL: '' }, { BEARERKIT_REDIS_URL: '  ' }]) {
    const stores = await createStoresFromEnv(env, {
      load: () => Promise.reject(new Error('must not load anything')),
    })
    t.equal(stores.kind, 'memory')
    await stores.ready()
    t.equal(await stores.replay.markUsed('k', Date.now() / 1000 + 10), true)
    t.equal(await stores.replay.markUsed('k', Date.now() / 1000 + 10), false)
    await stores.close()
  }
  const memory = createMemoryStores()
  t.equal(
    memory.revocations.isRevoked({ token: 'x', clientId: 'c', scopes: [], claims: {} }),
    false,
  )
  t.ok(Object.isFrozen(memory))
})

t.test(
  'BEARERKIT_REDIS_URL: @bearerkit/redis, loaded on demand, reads the environment',
  async (t) => {
    const seen: unknown[] = []
    const memory = createMemoryStores()
    let closed = 0
    const stores = await createStoresFromEnv(
      { APP_REDIS_URL: 'redis://127.0.0.1:6379', APP_REDIS_PREFIX: 'x' },
      {
        prefix: 'APP_',
        load: async (name) => {
          seen.push(name)
          return {
            redisStoresOptionsFromEnv: (env: unknown, prefix: string) => ({ env, prefix }),
            createRedisStores: (options: unknown) => {
              seen.push(options)
              return {
                ...memory,
                ready: () => Promise.resolve(),
                close: () => {
                  closed++
                  return Promise.resolve()
                },
              }
            },
          }
        },
      },
    )
    t.equal(stores.kind, 'redis')
    t.same(seen, [
      '@bearerkit/redis',
      { env: { APP_REDIS_URL: 'redis://127.0.0.1:6379', APP_REDIS_PREFIX: 'x' }, prefix: 'APP_' },
    ])
    t.equal(stores.replay, memory.replay)
    await stores.ready()
    await stores.close()
    t.equal(closed, 1)
  },
)

t.test('a missing or wrong package is named', async (t) => {
  const env = { BEARERKIT_REDIS_URL: 'redis://127.0.0.1:6379' }
  await t.rejects(
    createStoresFromEnv(env, {
      load: () =>
        Promise.reject(Object.assign(new Error('nope'), { code: 'ERR_MODULE_NOT_FOUND' })),
    }),
    { code: 'ERR_MODULE_NOT_FOUND', message: /npm install @bearerkit\/redis ioredis/ },
  )
  await t.rejects(createStoresFromEnv(env, { load: () => Promise.reject(new Error('boom')) }), {
    message: 'boom',
  })
  await t.rejects(createStoresFromEnv(env, { load: async () => ({}) }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /^BEARERKIT_REDIS_URL /,
  })
})
