import { randomUUID } from 'node:crypto'
import {
  createMemoryRevocationList,
  createMemorySharedCache,
  guardSharedCache,
  revokeSubject,
  type AccessToken,
} from '@bearerkit/core'
import { createIntrospectionVerifier } from '@bearerkit/introspection'
import { createRedisStores } from '@bearerkit/redis'
import { createLocalAuthorizationServer } from '@bearerkit/testing'
import { Redis } from 'ioredis'
import type { BenchConfig } from './lib/config.js'
import { compare, type Candidate } from './lib/harness.js'
import { formatInt, formatNs, type SectionResult } from './lib/report.js'
import { AUDIENCE, SCOPES } from './lib/tokens.js'

/** Where the section finds Redis: `BEARERKIT_REDIS_URL`, `REDIS_URL`, or the local default. */
const redisUrl = (): string =>
  process.env.BEARERKIT_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

const REVOKED_SUBJECTS = 10_000

/**
 * The shared-state section (`--only redis`, never in the default run: it needs a Redis):
 * - the per-request revocation check, a lookup in the local copy (memory list and Redis list,
 *   each holding 10,000 revoked subjects, checking a token that is not revoked);
 * - an introspection answer from the first tier (in-process), the shared tier (one Redis round
 *   trip) and a miss (an introspection request to the local authorization server);
 * - replay claims per second, many in flight on one connection (pipelined).
 */
export async function runRedis(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<SectionResult> {
  const url = redisUrl()
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 })
  try {
    await probe.connect()
    await probe.ping()
  } catch {
    throw new Error(
      `the redis section needs a Redis at ${new URL(url).host} (set BEARERKIT_REDIS_URL)`,
    )
  } finally {
    probe.disconnect()
  }
  const prefix = `bench-${randomUUID().slice(0, 8)}`
  const stores = createRedisStores({ url, prefix, timeout: 1_000 })
  const server = await createLocalAuthorizationServer({ tokenFormat: 'opaque' })
  try {
    await stores.ready()
    const revocations = stores.revocations
    log(`redis: revoking ${formatInt(REVOKED_SUBJECTS)} subjects`)
    const memoryList = createMemoryRevocationList()
    for (let i = 0; i < REVOKED_SUBJECTS; i++) {
      const principal = { issuer: 'https://as.example', subject: `user-${i}` }
      await revokeSubject(memoryList, principal)
      await revokeSubject(revocations, principal)
    }
    await revocations.sync()
    const live: AccessToken = Object.freeze({
      token: 'opaque',
      clientId: 'app',
      scopes: [],
      subject: 'someone-else',
      issuer: 'https://as.example',
      claims: Object.freeze({ iat: Math.floor(Date.now() / 1000), jti: 'live-jti' }),
    })
    if (revocations.isRevoked(live) || memoryList.isRevoked(live))
      throw new Error('live token revoked')

    const token = await server.issueToken({ audience: AUDIENCE, scopes: SCOPES })
    const uncached = createIntrospectionVerifier({
      introspectionUrl: server.introspectionEndpoint,
      issuer: server.issuer,
      audience: AUDIENCE,
      clientId: 'test-client',
      clientSecret: 'test-secret',
      cache: false,
    })
    const firstTier = createMemorySharedCache()
    const sharedTier = guardSharedCache(stores.cache, { timeout: 1_000 })
    const answer = { active: true, sub: 'alice', client_id: 'app', exp: 2e9 }
    void firstTier.set('key', answer, 60_000)
    await sharedTier.set('key', answer, 60_000)

    const candidates: Candidate[] = [
      {
        name: 'revocation check, memory list',
        async: false,
        run: () => memoryList.isRevoked(live),
      },
      {
        name: 'revocation check, Redis list (local copy)',
        async: false,
        run: () => revocations.isRevoked(live),
      },
      {
        name: 'introspection answer, first tier (in-process)',
        async: false,
        run: () => firstTier.get('key'),
      },
      {
        name: 'introspection answer, shared tier (Redis GET)',
        async: true,
        run: () => sharedTier.get('key'),
      },
      {
        name: 'introspection answer, miss (introspection request)',
        async: true,
        run: () => uncached.verifyToken(token),
      },
    ]
    log('redis: measuring the checks and the tiers')
    const measured = await compare(candidates, config.micro)

    // Replay claims: many in flight at once on one connection, so ioredis pipelines them.
    const claims = config.quick ? 20_000 : 100_000
    const inFlight = 500
    log(`redis: ${formatInt(claims)} replay claims, ${inFlight} in flight`)
    const exp = Math.floor(Date.now() / 1000) + 60
    let next = 0
    let won = 0
    const started = performance.now()
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < claims) {
          const id = `jti-${next++}`
          if (await stores.replay.markUsed(id, exp)) won++
        }
      }),
    )
    const seconds = (performance.now() - started) / 1000
    const perSecond = claims / seconds
    await uncached.close()

    const revocationCheck =
      measured.get('revocation check, Redis list (local copy)')?.cpu.median ?? Infinity
    const rows = candidates.map((c) => {
      const m = measured.get(c.name)
      return [
        c.name,
        m === undefined ? '-' : formatNs(m.cpu.median),
        m === undefined ? '-' : formatNs(m.wall.median),
      ]
    })
    rows.push([
      `replay claims (SET NX PXAT), ${inFlight} in flight`,
      `${formatInt(perSecond)} claims/s`,
      `${formatInt(won)} of ${formatInt(claims)} won`,
    ])
    return {
      tables: [
        {
          title: 'Shared state: revocation check, introspection tiers, replay claims',
          headers: ['Operation', 'CPU/op (median)', 'Wall/op (median)'],
          rows,
          notes: [
            `Redis at ${new URL(url).host}, keys under a fresh prefix. Both revocation lists hold ${formatInt(REVOKED_SUBJECTS)} revoked subjects; the checked token is not revoked (the common case). The shared-tier row is one GET round trip through the store's deadline race; the miss is an uncached introspection request to the local authorization server.`,
          ],
        },
      ],
      targets: [
        {
          name: 'Per-request revocation check',
          goal: '<= 0.2 µs',
          measured: formatNs(revocationCheck),
          pass: revocationCheck <= 200,
        },
        {
          name: 'Replay claims, pipelined',
          goal: 'every claim won once',
          measured: `${formatInt(perSecond)} claims/s, ${formatInt(won)} won`,
          pass: won === claims,
        },
      ],
    }
  } finally {
    await server.close()
    const admin = new Redis(url)
    try {
      let cursor = '0'
      do {
        const [nextCursor, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
        cursor = nextCursor
        if (keys.length > 0) await admin.del(...keys)
      } while (cursor !== '0')
    } finally {
      admin.disconnect()
      await stores.close()
    }
  }
}
