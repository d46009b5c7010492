import { hash, randomUUID } from 'node:crypto'
import { Cluster, type Command } from 'ioredis'
import t from 'tap'
import {
  guardSharedCache,
  loadThroughSharedCache,
  revokeClient,
  type AccessToken,
} from '@bearerkit/core'
import { createRedisStores, type RedisStores } from '../src/index.js'
import { REVOKE } from '../src/lib/revocation-scripts.js'
import { testCluster } from './fixtures/redis-server.js'

const cluster = await testCluster(t)

if (cluster !== undefined) {
  const ports = cluster.ports
  const connect = (): Cluster => {
    const client = new Cluster(
      ports.map((port) => ({ host: '127.0.0.1', port })),
      { redisOptions: { connectTimeout: 2_000 } },
    )
    t.teardown(() => client.disconnect())
    return client
  }
  const prefix = `c-${randomUUID().slice(0, 6)}`
  const open = async (client: Cluster): Promise<RedisStores> => {
    const stores = createRedisStores({ redis: client, prefix, timeout: 500 })
    t.teardown(() => stores.close())
    await stores.ready({ timeout: 10_000 })
    return stores
  }
  const clientA = connect()
  const clientB = connect()
  const a = await open(clientA)
  const b = await open(clientB)

  t.test('the stores work across the slots of three masters', async (t) => {
    const exp = Date.now() / 1000 + 60
    const ids = Array.from({ length: 30 }, (_, i) => `jti-${i}`)
    t.same(
      await Promise.all(ids.map((id) => Promise.resolve(a.replay.markUsed(id, exp)))),
      ids.map(() => true),
    )
    t.same(
      await Promise.all(ids.map((id) => Promise.resolve(b.replay.markUsed(id, exp)))),
      ids.map(() => false),
    )
    // The keys really are spread over the three masters.
    const owners = new Set<number>()
    for (const port of ports) {
      const keys = cluster.cli(port, 'keys', `${prefix}:r:*`).trim()
      if (keys !== '') owners.add(port)
    }
    t.equal(owners.size, 3, 'keys on every master')
    await a.sessions.set('s', ['app', null, 'alice'], 60_000)
    t.same(await b.sessions.get('s'), ['app', null, 'alice'])
    let loads = 0
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        loadThroughSharedCache(
          guardSharedCache((i % 2 ? a : b).cache, { timeout: 500 }),
          'tok',
          async () => {
            loads++
            await new Promise((resolve) => setTimeout(resolve, 30))
            return { value: { active: true }, ttl: 10_000 }
          },
        ),
      ),
    )
    t.equal(loads, 1, 'one load across the cluster')
    t.ok(results.every((r) => r.value.active === true))
    const token: AccessToken = { token: 'x', clientId: 'leaky', scopes: [], claims: { iat: 1 } }
    const heard = new Promise<void>((resolve) => {
      const off = b.revocations.subscribe(() => {
        off?.()
        resolve()
      })
    })
    await revokeClient(a.revocations, { clientId: 'leaky' })
    await heard
    t.equal(b.revocations.isRevoked(token), true, 'announced through the cluster')
  })

  t.test('revocations follow their sequence: an announcement costs no read', async (t) => {
    await b.revocations.sync()
    await b.revocations.sync()
    const sent: string[] = []
    const send = clientB.sendCommand.bind(clientB)
    clientB.sendCommand = ((command: Command, ...rest: unknown[]) => {
      sent.push(command.name)
      return (send as (...args: unknown[]) => unknown)(command, ...rest)
    }) as typeof clientB.sendCommand
    t.teardown(() => {
      clientB.sendCommand = send
    })
    const heard = new Promise<void>((resolve) => {
      const off = b.revocations.subscribe(() => {
        off?.()
        resolve()
      })
    })
    await revokeClient(a.revocations, { clientId: 'in-sequence' })
    await heard
    await new Promise((resolve) => setTimeout(resolve, 50))
    t.same(sent, [], 'applied in sequence, nothing read')
    // A revocation whose announcement B misses: the next check reads only what changed.
    const rev = `${prefix}:{rev}`
    const exp = Math.floor(Date.now() / 1000) + 60
    await clientA.eval(
      REVOKE,
      4,
      `${rev}:entries`,
      `${rev}:expiry`,
      `${rev}:mark`,
      `${rev}:log`,
      'c:missed',
      JSON.stringify({ v: 1, type: 'client', clientId: 'missed', before: exp, expiresAt: exp }),
      exp * 1000,
      Date.now(),
      randomUUID(),
      `${prefix}:nobody-listens`,
    )
    await b.revocations.sync()
    t.same(sent, ['get', 'eval'], 'the mark, then the changes after it (no HGETALL)')
    const missed: AccessToken = { token: 'x', clientId: 'missed', scopes: [], claims: { iat: 1 } }
    t.equal(b.revocations.isRevoked(missed), true)
  })

  t.test('a slot moves under the clients: MOVED is followed', async (t) => {
    const exp = Date.now() / 1000 + 60
    await a.sessions.set('moving', ['app', null, 'bob'], 60_000)
    // The session's key (the id is stored hashed), its slot, and the master that owns it.
    const sessionKey = `${prefix}:s:{${hash('sha256', 'moving', 'base64url')}}`
    const slot = Number(cluster.cli(ports[0] as number, 'cluster', 'keyslot', sessionKey).trim())
    const ids = new Map<number, string>()
    for (const port of ports) ids.set(port, cluster.cli(port, 'cluster', 'myid').trim())
    const source = ports.find(
      (port) => cluster.cli(port, 'cluster', 'countkeysinslot', String(slot)).trim() !== '0',
    ) as number
    const target = ports.find((port) => port !== source) as number
    cluster.cli(target, 'cluster', 'setslot', String(slot), 'importing', String(ids.get(source)))
    cluster.cli(source, 'cluster', 'setslot', String(slot), 'migrating', String(ids.get(target)))
    const keys = cluster
      .cli(source, 'cluster', 'getkeysinslot', String(slot), '100')
      .trim()
      .split('\n')
    cluster.cli(source, 'migrate', '127.0.0.1', String(target), '', '0', '5000', 'keys', ...keys)
    for (const port of ports) {
      cluster.cli(port, 'cluster', 'setslot', String(slot), 'node', String(ids.get(target)))
    }
    // The clients still route the slot to the old owner: each command meets MOVED and follows it.
    t.same(await b.sessions.get('moving'), ['app', null, 'bob'])
    t.equal(await a.sessions.touch('moving', 60_000), true)
    t.same(await a.sessions.get('moving'), ['app', null, 'bob'])
    t.equal(cluster.cli(target, 'cluster', 'countkeysinslot', String(slot)).trim(), '1')
    t.equal(await a.replay.markUsed('after-move', exp), true)
  })
}
