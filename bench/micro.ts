import { createCachedVerifier } from '@bearerkit/core'
import { createIntrospectionVerifier } from '@bearerkit/introspection'
import { createJwtVerifier } from '@bearerkit/jwt'
import { createLocalAuthorizationServer } from '@bearerkit/testing'
import { fileURLToPath } from 'node:url'
import { startChild } from './lib/child.js'
import { mustAccept } from './lib/accept.js'
import type { BenchConfig } from './lib/config.js'
import { compare, pairedRatio, type Measurement, type Stats } from './lib/harness.js'
import type { FromMicroWorker, ToMicroWorker } from './lib/messages.js'
import { BENCH_ALGORITHMS } from './lib/raw-jwt.js'
import { formatInt, formatNs, formatRatio, type SectionResult, type Target } from './lib/report.js'
import { AUDIENCE, ISSUER, SCOPES, keysFor, mint, type AlgorithmKeys } from './lib/tokens.js'

/** Uncached verification must reach this share of raw node:crypto throughput (issue 3). */
const UNCACHED_TARGET = 0.95
/** A verified-token cache hit must take at most this long, in ns (issue 3). */
const CACHE_HIT_TARGET_NS = 2000
/** An introspection cache hit may cost at most this much more than core's, in ns (issue 4). */
const INTROSPECTION_MARGIN_NS = 2000

// What awaiting any verifyToken costs before it does anything: a settled promise, awaited.
function emptyAsync(): Promise<null> {
  return Promise.resolve(null)
}

function spread(stats: Stats): string {
  return `${formatNs(stats.min)} – ${formatNs(stats.max)}`
}

// CPU median, its spread, operations per CPU-second, wall median.
function cells(m: Measurement): string[] {
  return [
    formatNs(m.cpu.median),
    spread(m.cpu),
    formatInt(m.cpu.opsPerSecond),
    formatNs(m.wall.median),
  ]
}

/**
 * Measures one group of one algorithm in a process of its own (`micro-worker.ts`): the bound
 * against one library only, rounds interleaved.
 */
async function measureGroup(
  group: ToMicroWorker['group'],
  keys: AlgorithmKeys,
  token: string,
  config: BenchConfig,
): Promise<Map<string, Measurement>> {
  const script = fileURLToPath(new URL('./micro-worker.js', import.meta.url))
  const child = startChild<ToMicroWorker, FromMicroWorker>(script)
  const key =
    typeof keys.keyInput === 'string'
      ? { publicPem: keys.keyInput }
      : { secret: Buffer.from(keys.keyInput).toString('base64') }
  const answer = await child.ask(
    { type: 'run', alg: keys.alg, group, token, ...key, harness: config.micro },
    'result',
  )
  await child.exited
  return new Map(answer.measurements)
}

/**
 * Per algorithm: raw node:crypto (the bound), jose `jwtVerify` (the usual library), the bearerkit
 * JWT verifier without cache, and a hit of core's verified-token cache in front of it. jose and
 * bearerkit are each measured against the bound in a process of their own (see
 * `micro-worker.ts`); every ratio is paired, round by round, with the bound of its own process.
 * Then one group, in this process, comparing core's cache hit with a warmed introspection cache
 * hit.
 */
export async function runMicro(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<SectionResult> {
  const rows: string[][] = []
  const targets: Target[] = []

  for (const alg of BENCH_ALGORITHMS) {
    const keys = await keysFor(alg)
    const token = await mint(keys)
    log(`micro ${alg}: bearerkit`)
    const ours = await measureGroup('bearerkit', keys, token, config)
    log(`micro ${alg}: jose`)
    const theirs = await measureGroup('jose', keys, token, config)
    const rawM = ours.get('raw') as Measurement
    const joseM = theirs.get('jose') as Measurement
    // jose's speed as a share of the bound, from its own process.
    const joseShare = pairedRatio(theirs.get('raw') as Measurement, joseM).median
    const share = (m: Measurement): number => pairedRatio(rawM, m).median
    const labelled: [string, Measurement, number][] = [
      ['node:crypto (bound)', rawM, 1],
      ['jose jwtVerify', joseM, joseShare],
      [
        'bearerkit, uncached',
        ours.get('uncached') as Measurement,
        share(ours.get('uncached') as Measurement),
      ],
      [
        'bearerkit, cache hit',
        ours.get('hit') as Measurement,
        share(ours.get('hit') as Measurement),
      ],
    ]
    for (const [label, m, ratio] of labelled) {
      rows.push([alg, label, ...cells(m), formatRatio(ratio), formatRatio(ratio / joseShare)])
    }
    const ratio = pairedRatio(rawM, ours.get('uncached') as Measurement)
    targets.push({
      name: `${alg} uncached vs node:crypto`,
      goal: `>= ${UNCACHED_TARGET.toFixed(2)}x`,
      measured: `${formatRatio(ratio.median)} (rounds ${formatRatio(ratio.min)} – ${formatRatio(ratio.max)})`,
      pass: ratio.median >= UNCACHED_TARGET,
    })
    const hit = (ours.get('hit') as Measurement).cpu.median
    targets.push({
      name: `${alg} cache hit`,
      goal: `<= ${formatNs(CACHE_HIT_TARGET_NS)}`,
      measured: formatNs(hit),
      pass: hit <= CACHE_HIT_TARGET_NS,
    })
  }

  // Core's cache hit, beside the introspection verifier's, in this process.
  const rsaKeys = await keysFor('RS256')
  const rsaToken = await mint(rsaKeys)
  const jwtVerifier = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    key: rsaKeys.keyInput,
    algorithms: ['RS256'],
  })
  const coreCached = createCachedVerifier(jwtVerifier)
  await mustAccept('bearerkit cached RS256', coreCached, rsaToken)

  log('micro cache hits: core vs introspection')
  const server = await createLocalAuthorizationServer({ tokenFormat: 'opaque' })
  const cacheRows: string[][] = []
  try {
    const opaque = await server.issueToken({ audience: AUDIENCE, scopes: SCOPES })
    const introspection = createIntrospectionVerifier({
      introspectionUrl: server.introspectionEndpoint,
      issuer: server.issuer,
      audience: AUDIENCE,
      clientId: 'test-client',
      clientSecret: 'test-secret',
    })
    await mustAccept('introspection', introspection, opaque)
    const measured = await compare(
      [
        { name: 'core', async: true, run: () => coreCached.verifyToken(rsaToken) },
        { name: 'introspection', async: true, run: () => introspection.verifyToken(opaque) },
        { name: 'floor', async: true, run: emptyAsync },
      ],
      config.micro,
    )
    const coreM = measured.get('core') as Measurement
    const introM = measured.get('introspection') as Measurement
    const coreStats = coreM.cpu
    const introStats = introM.cpu
    const floorM = measured.get('floor') as Measurement
    const requests = server.requestCount('introspection')
    cacheRows.push(
      ['core createCachedVerifier hit (RS256 JWT)', ...cells(coreM), '1.00x'],
      [
        'introspection cache hit (opaque)',
        ...cells(introM),
        formatRatio(coreStats.median / introStats.median),
      ],
      [
        'a resolved promise, awaited (the floor)',
        ...cells(floorM),
        formatRatio(coreStats.median / floorM.cpu.median),
      ],
    )
    const margin = introStats.median - coreStats.median
    targets.push({
      name: 'introspection cache hit vs core cache hit',
      goal: `<= core + ${formatNs(INTROSPECTION_MARGIN_NS)}`,
      measured: `core ${margin < 0 ? '−' : '+'} ${formatNs(Math.abs(margin))} (${requests} introspection request${requests === 1 ? '' : 's'})`,
      pass: margin <= INTROSPECTION_MARGIN_NS,
    })
    await introspection.close()
  } finally {
    jwtVerifier.close()
    await server.close()
  }

  return {
    tables: [
      {
        title: 'Micro: one verification, per algorithm (awaited, one at a time)',
        headers: [
          'Alg',
          'Verifier',
          'CPU/op',
          'Spread (min – max)',
          'ops per CPU-s',
          'Wall/op',
          'vs node:crypto',
          'vs jose',
        ],
        rows,
        notes: [
          'CPU/op is the median over the rounds of process CPU time (all threads) per awaited verification. Wall/op is the median elapsed time, which also counts time spent waiting for a core on a busy machine.',
          "jose and bearerkit are each measured against the bound in a process of their own, rounds interleaved, so that neither pays for what the other leaves behind (garbage, thread-pool work). vs node:crypto is paired: for each round, the bound's CPU/op divided by the candidate's in the same cycle of rounds, then the median of those ratios (the targets show their min – max too). vs jose divides that share by jose's own share of its bound.",
          'node:crypto is the bound: split, base64url, JSON.parse of header and payload, one `crypto.verify` with a prepared KeyObject, no claim checks. jose and bearerkit also check `typ`, `iss`, `aud`, `exp` and the rest; bearerkit also maps the claims to an AccessToken. The cache hit is core `createCachedVerifier` in front of the same verifier.',
        ],
      },
      {
        title: 'Micro: cache hits',
        headers: [
          'Cache',
          'CPU/op',
          'Spread (min – max)',
          'ops per CPU-s',
          'Wall/op',
          'vs core hit',
        ],
        rows: cacheRows,
        notes: [
          'The introspection verifier runs against the local authorization server of @bearerkit/testing on 127.0.0.1, warmed with one verification before measuring.',
        ],
      },
    ],
    targets,
  }
}
