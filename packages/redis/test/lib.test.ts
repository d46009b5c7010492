import { EventEmitter } from 'node:events'
import t from 'tap'
import { createSubscriber } from '../src/lib/subscriber.js'
import type { RedisClient } from '../src/lib/connection.js'
import { createRedisStores } from '../src/index.js'
import { freePort } from './fixtures/redis-server.js'

// A pub/sub connection whose SUBSCRIBE fails (the connection dropped again at that moment).
class FlakyConnection extends EventEmitter {
  status = 'ready'
  attempts = 0
  subscribe(): Promise<number> {
    this.attempts++
    return this.attempts === 1
      ? Promise.reject(new Error('Connection is closed.'))
      : Promise.resolve(1)
  }
  connect(): Promise<void> {
    return Promise.resolve()
  }
  disconnect(): void {
    this.status = 'end'
  }
}

t.test('a subscription that fails is retried when the connection is ready again', async (t) => {
  const connection = new FlakyConnection()
  const client = { duplicate: () => connection } as unknown as RedisClient
  const subscriber = createSubscriber(client, ['a'])
  let subscribed = 0
  subscriber.onSubscribed(() => subscribed++)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(subscriber.ready, false, 'the first attempt failed')
  connection.emit('ready')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(subscriber.ready, true)
  t.equal(subscribed, 1)
  const got: string[] = []
  subscriber.route('a', (message) => got.push(message))
  connection.emit('message', 'a', 'hello')
  connection.emit('message', 'b', 'ignored')
  t.same(got, ['hello'])
  await subscriber.close()
  connection.emit('close')
  t.equal(subscriber.ready, false)
})

t.test('a lazy client is connected', async (t) => {
  const connection = new FlakyConnection()
  connection.status = 'wait'
  let connected = 0
  connection.connect = () => {
    connected++
    return Promise.reject(new Error('refused'))
  }
  createSubscriber({ duplicate: () => connection } as unknown as RedisClient, ['a'])
  t.equal(connected, 1)
})

t.test('ready() gives up after its timeout when Redis cannot be reached', async (t) => {
  const port = await freePort()
  const stores = createRedisStores({ url: `redis://127.0.0.1:${port}` })
  t.teardown(() => stores.close())
  const started = Date.now()
  await t.rejects(stores.ready({ timeout: 200 }), { code: 'ERR_VERIFIER_UNAVAILABLE' })
  t.ok(Date.now() - started < 2_000)
  t.throws(
    () => stores.revocations.isRevoked({ token: 'x', clientId: 'c', scopes: [], claims: {} }),
    {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'store_stale',
    },
  )
})
