import { randomUUID } from 'node:crypto'
import { Redis, type Command } from 'ioredis'
import t from 'tap'
import {
  readRevocation,
  revokeClient,
  revokeToken,
  type AccessToken,
  type Revocation,
} from '@bearerkit/core'
import { createRedisStores, type RedisStores } from '../src/index.js'
import { REVOKE, parseMark } from '../src/lib/revocation-scripts.js'
import { testRedis } from './fixtures/redis-server.js'

// How an instance keeps its copy of the revocation list current: every command instance B sends
// is counted (its client is wrapped), so each test states exactly what a change cost B.

const redis = await testRedis(t)

const token = (fields: Partial<AccessToken> & { claims?: Record<string, unknown> }): AccessToken =>
  Object.freeze({ token: 'not-stored', clientId: 'app', scopes: [], claims: {}, ...fields })

const waitUntil = async (check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
const tick = (ms = 50): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

t.test('parseMark reads `<epoch>:<sequence>` only', async (t) => {
  t.same(parseMark('e-1:7'), { epoch: 'e-1', seq: 7 })
  t.same(parseMark('a:b:12'), { epoch: 'a:b', seq: 12 })
  for (const hostile of [
    null,
    undefined,
    7,
    '',
    'e',
    ':5',
    'e:',
    'e:0',
    'e:07',
    'e:-1',
    'e:1.5',
    'e:1e3',
    'e: 5',
    'e:99999999999999999',
    '6f1c0a52-0d4b-4b8e-9a55-5c4b9d7f3a10', // an older release's random mark
  ]) {
    t.equal(parseMark(hostile), undefined, String(hostile))
  }
})

if (redis !== undefined) {
  const admin = new Redis(redis.url)
  t.teardown(() => admin.disconnect())
  const freshPrefix = () => `i-${randomUUID().slice(0, 8)}`

  // One command as B sent it: the name, the script for EVAL (`revoke` or `changes`, told apart by
  // its first key), and how many rows the answer had.
  interface Sent {
    readonly name: string
    rows?: number
  }
  const labelOf = (command: Command): string => {
    if (command.name !== 'eval') return command.name
    const firstKey = String(command.args[2])
    return firstKey.endsWith(':log') ? 'changes' : firstKey.endsWith(':entries') ? 'revoke' : 'eval'
  }

  const open = async (
    prefix: string,
    extra: Partial<Parameters<typeof createRedisStores>[0]> = {},
  ): Promise<RedisStores> => {
    const stores = createRedisStores({
      url: redis.url,
      prefix,
      revocations: { syncInterval: 0 },
      // Deadlines are not what these tests measure: generous ones keep a busy machine out of it.
      timeout: 2_000,
      ...extra,
    })
    t.teardown(() => stores.close())
    await stores.ready()
    return stores
  }

  // Instance B on a wrapped client of its own: `sent` lists what it sent since the last `clear`.
  const openCounted = async (
    prefix: string,
    extra: Partial<Parameters<typeof createRedisStores>[0]> = {},
  ): Promise<{ stores: RedisStores; sent: Sent[]; names: () => string[]; clear: () => void }> => {
    const client = new Redis(redis.url, {
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 50,
    })
    client.on('error', () => undefined)
    t.teardown(() => client.disconnect())
    const sent: Sent[] = []
    const send = client.sendCommand.bind(client)
    client.sendCommand = (command: Command, ...rest: unknown[]) => {
      const record: Sent = { name: labelOf(command) }
      sent.push(record)
      command.promise.then(
        (answer: unknown) => {
          record.rows = Array.isArray(answer) ? answer.length : 1
        },
        () => undefined,
      )
      return (send as (...args: unknown[]) => unknown)(command, ...rest)
    }
    const stores = createRedisStores({
      redis: client,
      prefix,
      revocations: { syncInterval: 0 },
      // Deadlines are not what these tests measure: generous ones keep a busy machine out of it.
      timeout: 2_000,
      ...extra,
    })
    t.teardown(() => stores.close())
    await stores.ready()
    // The first subscription asks for one more reload: let it finish before counting.
    await waitUntil(async () => {
      const before = sent.length
      await stores.revocations.sync()
      await tick(20)
      return sent.length === before + 1
    })
    const clear = (): void => {
      sent.length = 0
    }
    clear()
    return { stores, sent, names: () => sent.map((s) => s.name), clear }
  }

  // Lets a synchronisation under way (and the one it may have asked for) finish.
  const settle = async (stores: RedisStores): Promise<void> => {
    await stores.revocations.sync()
    await tick()
    await stores.revocations.sync()
  }

  const heardBy = (stores: RedisStores, count = 1): Promise<void> =>
    new Promise((resolve) => {
      let left = count
      const off = stores.revocations.subscribe(() => {
        if (--left > 0) return
        off?.()
        resolve()
      })
    })

  const keysOf = (prefix: string) => ({
    entries: `${prefix}:{rev}:entries`,
    expiry: `${prefix}:{rev}:expiry`,
    mark: `${prefix}:{rev}:mark`,
    log: `${prefix}:{rev}:log`,
  })

  // A revocation recorded without its announcement reaching anyone: what an instance misses when
  // a message is lost (the script publishes on a channel nobody listens to).
  const revokeSilently = (
    prefix: string,
    revocation: Revocation,
    at = Date.now(),
    client: Redis = admin,
  ): Promise<unknown> => {
    const k = keysOf(prefix)
    const field =
      revocation.type === 'token'
        ? `t:${revocation.jti}`
        : revocation.type === 'client'
          ? `c:${revocation.clientId}`
          : `s:${JSON.stringify([revocation.issuer, revocation.subject])}`
    return client.eval(
      REVOKE,
      4,
      k.entries,
      k.expiry,
      k.mark,
      k.log,
      field,
      JSON.stringify({ v: 1, ...revocation }),
      Math.ceil(revocation.expiresAt * 1000),
      at,
      randomUUID(),
      `${prefix}:nobody-listens`,
    )
  }
  const clientRevocation = (clientId: string): Revocation => ({
    type: 'client',
    clientId,
    before: Math.floor(Date.now() / 1000),
    expiresAt: Math.floor(Date.now() / 1000) + 3_600,
  })
  const revoked = (stores: RedisStores, clientId: string): boolean =>
    stores.revocations.isRevoked(token({ clientId, claims: { iat: 1 } })) === true

  t.test('a change made on A reaches B with no read at all', async (t) => {
    const prefix = freshPrefix()
    const a = await open(prefix)
    await revokeClient(a.revocations, { clientId: 'before-b' })
    const b = await openCounted(prefix)
    t.equal(b.stores.revocations.size, 1)

    for (const clientId of ['one', 'two', 'three']) {
      const heard = heardBy(b.stores)
      await revokeClient(a.revocations, { clientId })
      await heard
      t.ok(revoked(b.stores, clientId), clientId)
    }
    await tick()
    t.same(b.names(), [], 'three announcements in sequence: B sent nothing')
    await b.stores.revocations.sync()
    t.same(b.names(), ['get'], 'the periodic check is one GET of the mark, which matches')
    const replid = /master_replid:(\w+)/.exec(await admin.info('replication'))?.[1]
    t.equal(
      await admin.get(keysOf(prefix).mark),
      `${parseMark(await admin.get(keysOf(prefix).mark))?.epoch.split('@')[0]}@${replid}:4`,
      'mark: a random epoch of this server, and the sequence',
    )
  })

  t.test('a missed announcement is filled by reading only what changed after it', async (t) => {
    const prefix = freshPrefix()
    const a = await open(prefix)
    await revokeClient(a.revocations, { clientId: 'held' })
    const b = await openCounted(prefix)

    // Three changes B never hears of, then one it hears: the gap is read at once.
    for (const clientId of ['missed-1', 'missed-2', 'missed-3'])
      await revokeSilently(prefix, clientRevocation(clientId))
    const heard = heardBy(b.stores, 4)
    await revokeClient(a.revocations, { clientId: 'heard' })
    await heard
    await waitUntil(() => b.sent.every((s) => s.rows !== undefined))
    await tick()
    t.same(b.names(), ['get', 'changes'], 'no HGETALL: one read of the changes after B’s mark')
    t.equal(b.sent[1]?.rows, 1 + 2 * 4, 'the mark and the four changed entries, nothing else')
    for (const clientId of ['held', 'missed-1', 'missed-2', 'missed-3', 'heard'])
      t.ok(revoked(b.stores, clientId), clientId)
    b.clear()

    // The periodic check finding the stored sequence ahead does the same.
    await revokeSilently(prefix, clientRevocation('missed-4'))
    t.notOk(revoked(b.stores, 'missed-4'))
    await b.stores.revocations.sync()
    t.same(b.names(), ['get', 'changes'])
    t.equal(b.sent[1]?.rows, 3)
    t.ok(revoked(b.stores, 'missed-4'))
    b.clear()

    // And B is back in sequence: the next announcement costs nothing.
    const next = heardBy(b.stores)
    await revokeClient(a.revocations, { clientId: 'after' })
    await next
    await tick()
    t.same(b.names(), [])
  })

  t.test('a large gap is read in bounded batches', async (t) => {
    const prefix = freshPrefix()
    const a = await open(prefix)
    await revokeClient(a.revocations, { clientId: 'first' })
    const b = await openCounted(prefix)
    const pipeline = admin.pipeline()
    const k = keysOf(prefix)
    for (let i = 0; i < 1_200; i++) {
      const revocation = clientRevocation(`bulk-${i}`)
      pipeline.eval(
        REVOKE,
        4,
        k.entries,
        k.expiry,
        k.mark,
        k.log,
        `c:bulk-${i}`,
        JSON.stringify({ v: 1, ...revocation }),
        Math.ceil(revocation.expiresAt * 1000),
        Date.now(),
        randomUUID(),
        `${prefix}:nobody-listens`,
      )
    }
    await pipeline.exec()
    await b.stores.revocations.sync()
    await waitUntil(() => b.sent.every((s) => s.rows !== undefined))
    t.same(b.names(), ['get', 'changes', 'changes', 'changes'])
    t.same(
      b.sent.slice(1).map((s) => s.rows),
      [1 + 2 * 500, 1 + 2 * 500, 1 + 2 * 200],
      'batches of 500 entries',
    )
    t.equal(b.stores.revocations.size, 1_201)
  })

  t.test('a list of 20,000 entries: one more revocation costs B a bounded read', async (t) => {
    const prefix = freshPrefix()
    const k = keysOf(prefix)
    const exp = Math.floor(Date.now() / 1000) + 3_600
    // Written in bulk as 20,000 revocations leave it: entries, expiry index, log, mark.
    const replid = /master_replid:(\w+)/.exec(await admin.info('replication'))?.[1]
    const epoch = `${randomUUID()}@${replid}`
    for (let start = 0; start < 20_000; start += 2_000) {
      const entries: string[] = []
      const expiry: (string | number)[] = []
      const log: (string | number)[] = []
      for (let i = start; i < start + 2_000; i++) {
        entries.push(
          `t:jti-${i}`,
          JSON.stringify({ v: 1, type: 'token', jti: `jti-${i}`, expiresAt: exp }),
        )
        expiry.push(exp * 1000, `t:jti-${i}`)
        log.push(i + 1, `t:jti-${i}`)
      }
      await admin.hset(k.entries, ...entries)
      await admin.zadd(k.expiry, ...expiry)
      await admin.zadd(k.log, ...log)
    }
    await admin.set(k.mark, `${epoch}:20000`)
    for (const key of [k.entries, k.expiry, k.log, k.mark]) await admin.pexpireat(key, exp * 1000)
    // Loading 20,000 entries may take longer than the default 100 ms deadline on a busy machine.
    const a = await open(prefix, { timeout: 2_000 })
    const b = await openCounted(prefix, { timeout: 2_000 })
    t.equal(b.stores.revocations.size, 20_000)

    const heard = heardBy(b.stores)
    await revokeToken(a.revocations, { jti: 'jti-new', expiresAt: exp })
    await heard
    await tick()
    t.same(b.names(), [], 'announced: applied with no read')

    await revokeSilently(prefix, { type: 'token', jti: 'jti-missed', expiresAt: exp })
    await b.stores.revocations.sync()
    await waitUntil(() => b.sent.every((s) => s.rows !== undefined))
    t.same(b.names(), ['get', 'changes'], 'missed: the mark and the changes, never the list')
    t.equal(b.sent[1]?.rows, 3, 'one entry read out of 20,002')
    t.equal(b.stores.revocations.size, 20_002)
    t.ok(b.stores.revocations.isRevoked(token({ claims: { jti: 'jti-missed', iat: 1 } })))
  })

  t.test('Redis flushed: B reloads the whole list once and keeps what it had', async (t) => {
    const prefix = freshPrefix()
    const a = await open(prefix)
    await revokeClient(a.revocations, { clientId: 'kept' })
    const b = await openCounted(prefix)
    await admin.flushall()
    await b.stores.revocations.sync()
    t.equal(b.names().filter((n) => n === 'hgetall').length, 1, 'no sequence any more: a reload')
    t.ok(revoked(b.stores, 'kept'), 'and the revocation it held is not undone')
    b.clear()
    await b.stores.revocations.sync()
    t.same(b.names(), ['get'], 'still no sequence, nothing changed: no second reload')

    // The next revocation starts a new sequence: B reloads once more (a small list now) ...
    b.clear()
    let heard = heardBy(b.stores)
    await revokeClient(a.revocations, { clientId: 'new-epoch' })
    await heard
    await waitUntil(() => b.names().includes('exec'))
    await settle(b.stores)
    await tick()
    t.equal(b.names().filter((n) => n === 'hgetall').length, 1)
    // ... and is in sequence again.
    b.clear()
    heard = heardBy(b.stores)
    await revokeClient(a.revocations, { clientId: 'in-sequence' })
    await heard
    await tick()
    t.same(b.names(), [])
    t.ok(revoked(b.stores, 'kept') && revoked(b.stores, 'new-epoch'))
    t.equal(await admin.hexists(keysOf(prefix).entries, 'c:kept'), 0, 'Redis really lost it')
  })

  t.test('a stored sequence behind the copy (lost writes) costs a reload', async (t) => {
    const prefix = freshPrefix()
    const a = await open(prefix)
    await revokeClient(a.revocations, { clientId: 'one' })
    await revokeClient(a.revocations, { clientId: 'two' })
    const b = await openCounted(prefix)
    const mark = parseMark(await admin.get(keysOf(prefix).mark))
    t.equal(mark?.seq, 2)
    // A failover to a replica that had not received the second revocation.
    await admin.set(keysOf(prefix).mark, `${mark?.epoch}:1`)
    await admin.hdel(keysOf(prefix).entries, 'c:two')
    await admin.zrem(keysOf(prefix).log, 'c:two')
    await b.stores.revocations.sync()
    t.equal(b.names().filter((n) => n === 'hgetall').length, 1)
    t.ok(revoked(b.stores, 'two'), 'kept')
    // Sequence 2 is taken again by another revocation: B applies it in sequence.
    b.clear()
    const heard = heardBy(b.stores)
    await revokeClient(a.revocations, { clientId: 'second-two' })
    await heard
    await tick()
    t.same(b.names(), [])
    await b.stores.revocations.sync()
    t.same(b.names(), ['get'])
  })

  t.test('a failover (another replication id) starts a new sequence: one reload', async (t) => {
    const prefix = freshPrefix()
    const k = keysOf(prefix)
    const a = await open(prefix)
    await revokeClient(a.revocations, { clientId: 'one' })
    await revokeClient(a.revocations, { clientId: 'two' })
    const b = await openCounted(prefix)
    const mark = parseMark(await admin.get(k.mark))
    const random = String(mark?.epoch.split('@')[0])
    // What a promoted replica that missed the last change holds: the mark at 1, written by the
    // old primary. Its next change would take number 2 again; the new server starts a new epoch.
    await admin.set(k.mark, `${random}@0123456789abcdef0123456789abcdef01234567:1`)
    let heard = heardBy(b.stores)
    await revokeClient(a.revocations, { clientId: 'after-failover' })
    await heard
    const after = parseMark(await admin.get(k.mark))
    t.not(after?.epoch, mark?.epoch)
    t.equal(after?.seq, 1)
    t.equal(await admin.zcard(k.log), 1, 'the log starts afresh')
    await waitUntil(() => b.names().includes('exec'))
    await settle(b.stores)
    t.equal(b.names().filter((n) => n === 'hgetall').length, 1, 'B reloads once')
    b.clear()
    heard = heardBy(b.stores)
    await revokeClient(a.revocations, { clientId: 'next' })
    await heard
    await tick()
    t.same(b.names(), [], 'then follows the new sequence')
    t.ok(['one', 'two', 'after-failover', 'next'].every((c) => revoked(b.stores, c)))
  })

  t.test('expired entries leave the log with the hash and the expiry index', async (t) => {
    const prefix = freshPrefix()
    const k = keysOf(prefix)
    const a = await open(prefix)
    await revokeClient(a.revocations, { clientId: 'seed' })
    const b = await openCounted(prefix)
    const now = Date.now()
    // Missed by B: a short-lived entry, then (a minute later by the writer's clock) another one
    // whose script drops the first, which has expired.
    await revokeSilently(
      prefix,
      { type: 'token', jti: 'short', expiresAt: Math.floor(now / 1000) + 2 },
      now,
    )
    await revokeSilently(prefix, clientRevocation('long'), now + 60_000)
    t.equal(await admin.zscore(k.log, 't:short'), null)
    t.equal(await admin.hlen(k.entries), 2)
    t.equal(await admin.zcard(k.expiry), 2)
    t.equal(await admin.zcard(k.log), 2)
    await b.stores.revocations.sync()
    await waitUntil(() => b.sent.every((s) => s.rows !== undefined))
    t.same(b.names(), ['get', 'changes'])
    t.equal(b.sent[1]?.rows, 3, 'only the live entry is read')
    t.ok(revoked(b.stores, 'long'))
    b.clear()
    const heard = heardBy(b.stores)
    await revokeClient(a.revocations, { clientId: 'next' })
    await heard
    await tick()
    t.same(b.names(), [], 'in sequence after the pruned entry')
    for (const key of Object.values(k)) t.ok((await admin.pttl(key)) > 0, `${key} has a TTL`)
  })

  t.test('an instance of the previous release shares the Redis', async (t) => {
    const prefix = freshPrefix()
    const k = keysOf(prefix)
    const a = await open(prefix)
    await revokeClient(a.revocations, { clientId: 'new-1' })
    const b = await openCounted(prefix)

    // What an older instance does: merge into the hash, a fresh random mark, announce the entry.
    const old = JSON.stringify({ v: 1, ...clientRevocation('from-old') })
    const heard = heardBy(b.stores)
    await admin.hset(k.entries, 'c:from-old', old)
    await admin.set(k.mark, randomUUID())
    await admin.publish(`${prefix}:revocations`, old)
    await heard
    await tick()
    t.ok(revoked(b.stores, 'from-old'), 'its announcement is applied at once')
    t.same(b.names(), [], 'and waits for the check')
    await b.stores.revocations.sync()
    t.equal(b.names().filter((n) => n === 'hgetall').length, 1, 'a random mark: a reload')
    b.clear()
    await b.stores.revocations.sync()
    t.same(b.names(), ['get'], 'once')

    // The next revocation from a new instance starts a new sequence (the old instance broke the
    // chain): one more reload, then in sequence.
    b.clear()
    let next = heardBy(b.stores)
    await revokeClient(a.revocations, { clientId: 'new-2' })
    await next
    await waitUntil(() => b.names().includes('exec'))
    await settle(b.stores)
    t.equal(b.names().filter((n) => n === 'hgetall').length, 1)
    b.clear()
    next = heardBy(b.stores)
    await revokeClient(a.revocations, { clientId: 'new-3' })
    await next
    await tick()
    t.same(b.names(), [])

    // What the older instance reads of the new data: the stored entry is unchanged (no new
    // field), and an announcement carries a `mark` it ignores by reading the fields it knows.
    const stored = JSON.parse(String(await admin.hget(k.entries, 'c:new-3'))) as object
    t.same(Object.keys(stored).sort(), ['before', 'clientId', 'expiresAt', 'type', 'v'])
    const listener = new Redis(redis.url)
    t.teardown(() => listener.disconnect())
    await listener.subscribe(`${prefix}:revocations`)
    const message = new Promise<string>((resolve) =>
      listener.once('message', (_c, m) => resolve(m)),
    )
    const last = heardBy(b.stores)
    await revokeClient(a.revocations, { clientId: 'new-4' })
    await last
    const announced = JSON.parse(await message) as Record<string, unknown>
    t.match(announced, { v: 1, type: 'client', clientId: 'new-4', mark: /:\d+$/ })
    t.match(readRevocation('revocation', announced), { type: 'client', clientId: 'new-4' })
    t.ok(['from-old', 'new-1', 'new-2', 'new-3', 'new-4'].every((c) => revoked(b.stores, c)))
  })

  t.test('hostile announcements: a forged mark far ahead costs one GET', async (t) => {
    const prefix = freshPrefix()
    const a = await open(prefix)
    await revokeClient(a.revocations, { clientId: 'real' })
    const b = await openCounted(prefix)
    const mark = parseMark(await admin.get(keysOf(prefix).mark))
    const forged = { v: 1, ...clientRevocation('forged'), mark: `${mark?.epoch}:999999` }
    await admin.publish(`${prefix}:revocations`, JSON.stringify(forged))
    await waitUntil(() => b.names().includes('get'))
    await tick()
    t.same(b.names(), ['get'], 'the stored mark is the copy’s: nothing to read')
    t.ok(revoked(b.stores, 'forged'), 'an announced entry is applied (only ever more refusals)')
    b.clear()
    // The copy stays at the real sequence: the next real change is applied with no read.
    const heard = heardBy(b.stores)
    await revokeClient(a.revocations, { clientId: 'real-2' })
    await heard
    await tick()
    t.same(b.names(), [])
    for (const garbage of ['e:0', 'x', `${mark?.epoch}:`]) {
      await admin.publish(
        `${prefix}:revocations`,
        JSON.stringify({ v: 1, ...clientRevocation('g'), mark: garbage }),
      )
    }
    await tick()
    t.same(b.names(), [], 'a mark that is not a sequence is an older release’s: no read now')
  })

  t.test('Redis restarted empty: B reloads on resubscription and keeps its entries', async (t) => {
    if (!redis.own) return
    const prefix = freshPrefix()
    const a = await open(prefix, { revocations: { syncInterval: 50 } })
    await revokeClient(a.revocations, { clientId: 'before-restart' })
    const b = await openCounted(prefix, { revocations: { syncInterval: 50 } })
    await redis.restart()
    await waitUntil(() => b.names().includes('hgetall'), 10_000)
    await waitUntil(async () => {
      try {
        await b.stores.revocations.sync()
        return true
      } catch {
        return false
      }
    })
    t.ok(revoked(b.stores, 'before-restart'), 'not undone by an empty Redis')
    t.equal(await admin.exists(keysOf(prefix).entries), 0, 'Redis really lost it')
    // Once the new sequence has started, B follows it without reading.
    await waitUntil(async () => {
      try {
        await revokeClient(a.revocations, { clientId: 'after-restart' })
        return true
      } catch {
        return false
      }
    })
    await waitUntil(() => revoked(b.stores, 'after-restart'))
    await settle(b.stores)
    b.clear()
    const heard = heardBy(b.stores)
    await revokeClient(a.revocations, { clientId: 'in-sequence' })
    await heard
    await tick(120)
    t.same(
      b.names().filter((n) => n !== 'get'),
      [],
      `in sequence again: only the periodic GET of the mark (sent: ${b.names().join(' ')})`,
    )
  })
}
