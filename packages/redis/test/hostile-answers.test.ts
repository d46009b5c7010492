import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import { guardSessionStore, revokeClient, revokeToken, type AccessToken } from '@bearerkit/core'
import { createRedisStores, type RedisStores } from '../src/index.js'
import { testRedis } from './fixtures/redis-server.js'

// A Redis (or whatever sits between us and it: a proxy, an instrumented client) that answers the
// wrong type, garbage, or values at the edge of what Redis accepts. Every security decision must
// fail closed (503), never count the garbage as an answer.

const redis = await testRedis(t)

const token = (fields: Partial<AccessToken> & { claims?: Record<string, unknown> }): AccessToken =>
  Object.freeze({ token: 'not-stored', clientId: 'app', scopes: [], claims: {}, ...fields })

const unavailable = { code: 'ERR_VERIFIER_UNAVAILABLE', statusCode: 503 }

if (redis !== undefined) {
  const admin = new Redis(redis.url)
  t.teardown(() => admin.disconnect())
  const freshPrefix = (): string => `h-${randomUUID().slice(0, 8)}`

  // A user client of our own, so that single commands can be made to answer garbage.
  const openOn = async (
    prefix: string,
    extra: Partial<Parameters<typeof createRedisStores>[0]> = {},
  ): Promise<{ stores: RedisStores; client: Redis }> => {
    const client = new Redis(redis.url, { enableOfflineQueue: false })
    client.on('error', () => undefined)
    t.teardown(() => client.disconnect())
    await new Promise((resolve) => client.once('ready', resolve))
    const stores = createRedisStores({
      redis: client,
      prefix,
      timeout: 2_000,
      revocations: { syncInterval: 0 },
      ...extra,
    })
    t.teardown(() => stores.close())
    return { stores, client }
  }

  t.test('a reload that answers garbage is not a loaded list', async (t) => {
    const prefix = freshPrefix()
    // The list holds a revocation of the client `leaky`.
    const writer = await openOn(prefix)
    await writer.stores.ready()
    await revokeClient(writer.stores.revocations, { clientId: 'leaky' })
    const leaky = token({ clientId: 'leaky', claims: { iat: 1 } })

    for (const [name, answer] of [
      ['null (an aborted transaction)', null],
      ['an empty array', []],
      [
        'entries of the wrong type',
        [
          [null, 'not a hash'],
          [null, null],
        ],
      ],
      [
        'a mark of the wrong type',
        [
          [null, {}],
          [null, 7],
        ],
      ],
    ] as const) {
      const { stores, client } = await openOn(prefix)
      const multi = client.multi.bind(client)
      client.multi = ((...args: unknown[]) => {
        const pipeline = (multi as (...a: unknown[]) => ReturnType<Redis['multi']>)(...args)
        pipeline.exec = () => Promise.resolve(answer as never)
        return pipeline
      }) as never
      await t.rejects(stores.revocations.sync(), { ...unavailable }, name)
      t.equal(stores.revocations.fresh, false, `${name}: the copy is not current`)
      t.throws(
        () => stores.revocations.isRevoked(leaky),
        { ...unavailable, reason: 'store_stale' },
        `${name}: a revoked client is refused with a 503, never accepted`,
      )
      // Redis answers properly again: the next confirmation reloads everything.
      client.multi = multi
      await stores.revocations.sync()
      t.equal(stores.revocations.isRevoked(leaky), true, `${name}: recovered`)
    }
  })

  t.test('a revocation answered with garbage is not reported as recorded', async (t) => {
    const { stores, client } = await openOn(freshPrefix())
    await stores.ready()
    const evaluate = client.eval.bind(client)
    const answers: unknown[] = [null, 'OK', [], [7, 'mark']]
    for (const answer of answers) {
      client.eval = () => Promise.resolve(answer)
      const jti = `j-${randomUUID()}`
      await t.rejects(
        revokeToken(stores.revocations, { jti, expiresAt: Date.now() / 1000 + 60 }),
        { ...unavailable, reason: 'store_invalid_answer' },
        JSON.stringify(answer),
      )
      t.equal(
        stores.revocations.isRevoked(token({ claims: { jti } })),
        true,
        'held here anyway: refusing more is the safe side',
      )
    }
    client.eval = evaluate
  })

  t.test('session touch and delete answered with garbage fail closed', async (t) => {
    const { stores, client } = await openOn(freshPrefix())
    const sessions = guardSessionStore(stores.sessions)
    await sessions.set('s', ['app', null, 'alice'], 60_000)
    client.pexpire = (() => Promise.resolve('1')) as never
    await t.rejects(sessions.touch('s', 60_000), unavailable, 'touch')
    client.del = (() => Promise.resolve(null)) as never
    await t.rejects(sessions.delete('s'), unavailable, 'delete')
  })

  t.test('a revocation kept for an absurdly long time does not break the list', async (t) => {
    const prefix = freshPrefix()
    const { stores } = await openOn(prefix)
    await stores.ready()
    // 1e14 s: a token whose `exp` is far in the future, revoked until its `exp`.
    await revokeToken(stores.revocations, { jti: 'forever', expiresAt: 1e14 })
    t.equal(stores.revocations.isRevoked(token({ claims: { jti: 'forever' } })), true)
    // Later revocations are recorded, announced and answered as such.
    const other = await openOn(prefix)
    await other.stores.ready()
    const heard = new Promise<void>((resolve) => {
      other.stores.revocations.subscribe(() => resolve())
    })
    await revokeClient(stores.revocations, { clientId: 'next' })
    await heard
    t.equal(
      other.stores.revocations.isRevoked(token({ clientId: 'next', claims: { iat: 1 } })),
      true,
    )
    for (const suffix of ['entries', 'expiry', 'mark', 'log']) {
      const ttl = await admin.pttl(`${prefix}:{rev}:${suffix}`)
      t.ok(ttl > 0, `${suffix} has a TTL (${ttl})`)
    }
  })

  t.test('a clock with a fraction of a millisecond still claims identifiers', async (t) => {
    const { stores } = await openOn(freshPrefix(), { now: () => Date.now() + 0.5 })
    const exp = Math.floor(Date.now() / 1000) - 5
    t.equal(await stores.replay.markUsed('edge', exp), true)
    t.equal(await stores.replay.markUsed('edge', exp), false)
  })

  t.test('a clock that answers NaN makes the revocation check fail closed', async (t) => {
    let broken = false
    const { stores } = await openOn(freshPrefix(), { now: () => (broken ? NaN : Date.now()) })
    await stores.ready()
    await revokeToken(stores.revocations, { jti: 'j1', expiresAt: Date.now() / 1000 + 60 })
    broken = true
    t.equal(stores.revocations.fresh, false)
    t.throws(() => stores.revocations.isRevoked(token({ claims: { jti: 'j1' } })), {
      ...unavailable,
      reason: 'store_stale',
    })
  })

  t.test('a sync interval longer than a timer holds does not sync every millisecond', async (t) => {
    // Node.js fires a timer set past 2^31 - 1 ms after 1 ms; as an interval, every millisecond:
    // a 30-day syncInterval would read the list from Redis a thousand times a second.
    const { stores, client } = await openOn(freshPrefix(), {
      revocations: { syncInterval: 30 * 24 * 3600 * 1000, maxStaleness: 31 * 24 * 3600 * 1000 },
    })
    await stores.ready()
    await new Promise((resolve) => setTimeout(resolve, 20))
    let sent = 0
    const send = client.sendCommand.bind(client)
    client.sendCommand = (...args: Parameters<Redis['sendCommand']>) => {
      sent++
      return send(...args)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    t.equal(sent, 0)
    t.equal(stores.revocations.fresh, true)
  })
}
