import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { startChild, type Child } from './lib/child.js'
import type { BenchConfig } from './lib/config.js'
import { median } from './lib/harness.js'
import { SERVER_KINDS, type FromServer, type ServerKind, type ToServer } from './lib/messages.js'
import {
  formatInt,
  formatRatio,
  formatRatioAgainst,
  type SectionResult,
  type Target,
} from './lib/report.js'
import { AUDIENCE, ISSUER, keysFor, mintPool } from './lib/tokens.js'

/** One load pattern against one server. */
export interface Scenario {
  readonly id: string
  readonly label: string
  readonly server: ServerKind
  /** `pool`: a new token on every request; `one`: the same token; `server`: the server's own. */
  readonly tokens: 'pool' | 'one' | 'server'
}

/** The HTTP scenarios, in the order of the table. */
export const SCENARIOS: readonly Scenario[] = [
  { id: 'bare', label: 'Fastify, no authentication (baseline)', server: 'bare', tokens: 'pool' },
  {
    id: 'raw',
    label: 'Fastify + node:crypto hook, new token per request (bound for new tokens)',
    server: 'raw-hook',
    tokens: 'pool',
  },
  {
    id: 'fastify-jwt-new',
    label: '@fastify/jwt, new token per request (peer)',
    server: 'fastify-jwt',
    tokens: 'pool',
  },
  {
    id: 'plugin-new',
    label: 'bearerkit plugin (cache: false), new token per request',
    server: 'plugin-jwt',
    tokens: 'pool',
  },
  {
    id: 'plugin-cache-miss',
    label: 'bearerkit plugin + cache, new token per request (every request misses)',
    server: 'plugin-jwt-cache-miss',
    tokens: 'pool',
  },
  {
    id: 'fastify-jwt-reused',
    label: '@fastify/jwt + its cache, reused token (peer)',
    server: 'fastify-jwt-cached',
    tokens: 'one',
  },
  {
    id: 'plugin-reused',
    label: 'bearerkit plugin (default cache), reused token',
    server: 'plugin-jwt-cached',
    tokens: 'one',
  },
  {
    id: 'plugin-introspection',
    label: 'bearerkit plugin + introspection, cached opaque token',
    server: 'plugin-introspection',
    tokens: 'server',
  },
]

/**
 * The request of every HTTP scenario: GET /mcp with the next token of `tokens` (round robin) as a
 * bearer token. Every scenario builds its request the same way, so the client's cost is the same.
 */
export function bearerRequest(tokens: readonly string[]): {
  method: string
  path: string
  setupRequest: (request: object) => object
} {
  let next = 0
  return {
    method: 'GET',
    path: '/mcp',
    setupRequest: (request) => {
      const token = tokens[next++ % tokens.length] as string
      return { ...request, headers: { authorization: `Bearer ${token}` } }
    },
  }
}

type Server = Child<ToServer, FromServer> & { readonly port: number; readonly token?: string }

interface Round {
  readonly rps: number
  readonly p99: number
  /** Server CPU time per request, in microseconds. */
  readonly cpuPerRequest: number
  /** Server CPU time over elapsed time: 1 means the server kept one core busy. */
  readonly serverBusy: number
}

async function startServer(kind: ServerKind, publicPem: string, cacheMax: number): Promise<Server> {
  const script = fileURLToPath(new URL('./http-server.js', import.meta.url))
  const child = startChild<ToServer, FromServer>(script)
  const ready = await child.ask(
    { type: 'start', kind, publicPem, issuer: ISSUER, audience: AUDIENCE, cacheMax },
    'ready',
  )
  return Object.assign(child, {
    port: ready.port,
    ...(ready.token === undefined ? {} : { token: ready.token }),
  })
}

async function load(
  server: Server,
  tokens: readonly string[],
  seconds: number,
  connections: number,
  pipelining: number,
): Promise<Round> {
  const before = await server.ask({ type: 'cpu' }, 'cpu')
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}`,
    connections,
    pipelining,
    duration: seconds,
    requests: [bearerRequest(tokens)],
  })
  const after = await server.ask({ type: 'cpu' }, 'cpu')
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(
      `HTTP benchmark answered ${result.non2xx} non-2xx and ${result.errors} errors: ` +
        JSON.stringify(result.statusCodeStats),
    )
  }
  const total = result.requests.total
  return {
    rps: total / result.duration,
    p99: result.latency.p99,
    cpuPerRequest: (after.micros - before.micros) / Math.max(1, total),
    serverBusy: (after.micros - before.micros) / (result.duration * 1e6),
  }
}

/**
 * autocannon on loopback against Fastify servers, each in its own process. Rounds of every
 * scenario are interleaved (order rotated each round), so drift hits all of them alike.
 */
export async function runHttp(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<SectionResult> {
  const { http } = config
  const keys = await keysFor('RS256')
  log(`http: minting ${http.pool} RS256 tokens`)
  const pool = await mintPool(keys, http.pool)
  // Below the pool size, so that cycling through the pool misses the cache on every request.
  const cacheMax = Math.floor(http.pool / 2)
  const publicPem = (keys.keyInput as string).toString()
  log('http: starting servers')
  const servers = new Map<ServerKind, Server>()
  try {
    const started = await Promise.all(
      SERVER_KINDS.map(
        async (kind) => [kind, await startServer(kind, publicPem, cacheMax)] as const,
      ),
    )
    for (const [kind, server] of started) servers.set(kind, server)
    const tokensOf = (scenario: Scenario): readonly string[] => {
      const server = servers.get(scenario.server) as Server
      switch (scenario.tokens) {
        case 'pool':
          return pool
        case 'one':
          return pool.slice(0, 1)
        case 'server':
          return [server.token as string]
      }
    }
    for (const scenario of SCENARIOS) {
      log(`http warm-up: ${scenario.id}`)
      await load(
        servers.get(scenario.server) as Server,
        tokensOf(scenario),
        http.warmupSeconds,
        http.connections,
        http.pipelining,
      )
    }
    const rounds = new Map<string, Round[]>(SCENARIOS.map((s) => [s.id, []]))
    for (let round = 0; round < http.rounds; round++) {
      log(`http round ${round + 1}/${http.rounds}`)
      for (let i = 0; i < SCENARIOS.length; i++) {
        const scenario = SCENARIOS[(i + round) % SCENARIOS.length] as Scenario
        rounds
          .get(scenario.id)
          ?.push(
            await load(
              servers.get(scenario.server) as Server,
              tokensOf(scenario),
              http.roundSeconds,
              http.connections,
              http.pipelining,
            ),
          )
      }
    }
    const lengths = {
      jwt: pool[0]?.length ?? 0,
      opaque: servers.get('plugin-introspection')?.token?.length ?? 0,
    }
    return report(rounds, http, cacheMax, lengths)
  } finally {
    for (const server of servers.values()) server.tell({ type: 'stop' })
    await Promise.all([...servers.values()].map((s) => s.exited))
  }
}

function report(
  rounds: Map<string, Round[]>,
  http: BenchConfig['http'],
  cacheMax: number,
  lengths: { readonly jwt: number; readonly opaque: number },
): SectionResult {
  const { connections, pipelining, pool } = http
  const rps = (id: string): number => median((rounds.get(id) ?? []).map((r) => r.rps))
  const cpu = (id: string): number => median((rounds.get(id) ?? []).map((r) => r.cpuPerRequest))
  const bare = rps('bare')
  const bareCpu = cpu('bare')
  const raw = rps('raw')
  const rows = SCENARIOS.map((scenario) => {
    const list = rounds.get(scenario.id) ?? []
    const values = list.map((r) => r.rps)
    return [
      scenario.label,
      formatInt(rps(scenario.id)),
      `${formatInt(Math.min(...values))} – ${formatInt(Math.max(...values))}`,
      `${median(list.map((r) => r.p99)).toFixed(0)} ms`,
      `${cpu(scenario.id).toFixed(1)} µs`,
      `${(100 * median(list.map((r) => r.serverBusy))).toFixed(0)}%`,
      formatRatio(rps(scenario.id) / bare),
      formatRatio(bareCpu / cpu(scenario.id)),
      formatRatio(rps(scenario.id) / raw),
    ]
  })
  // Judged on server capacity (baseline CPU/req over the scenario's): the throughput ratio of a
  // server that is the bottleneck. On 2 cores the client shares the machine and is often the
  // bottleneck itself, which pulls every req/s ratio towards 1; the req/s ratio is shown beside.
  const target = (
    name: string,
    id: string,
    baseId: string,
    baseName: string,
    goal: number,
  ): Target => {
    const capacity = cpu(baseId) / cpu(id)
    return {
      name,
      goal: `>= ${goal.toFixed(2)}x ${baseName}`,
      measured: `${formatRatioAgainst(capacity, goal)} server capacity (req/s: ${formatRatio(rps(id) / rps(baseId))})`,
      pass: capacity >= goal,
    }
  }
  return {
    tables: [
      {
        title: 'HTTP: Fastify on loopback, RS256',
        headers: [
          'Scenario',
          'req/s (median)',
          'Spread (min – max)',
          'p99 latency',
          'Server CPU/req',
          'Server busy',
          'vs bare (req/s)',
          'vs bare (CPU)',
          'vs node:crypto hook (req/s)',
        ],
        rows,
        notes: [
          `Median of ${http.rounds} interleaved rounds of ${http.roundSeconds} s per scenario, after ${http.warmupSeconds} s of warm-up. autocannon in the benchmark process, ${connections} connections, ${pipelining} requests pipelined on each, GET /mcp answering \`{"ok":true}\`; every scenario has a server process of its own (so that one scenario's garbage is not collected during another's). Every scenario sends an Authorization header built per request the same way (the baseline ignores it). New-token scenarios cycle through ${formatInt(pool)} distinct pre-minted tokens; the cached servers hold at most ${formatInt(cacheMax)} entries, so cycling misses on every request. The JWTs are ${lengths.jwt} characters long; the introspection scenario's opaque token ${lengths.opaque}, so its requests are smaller than the baseline's, which flatters it a little against bare.`,
          "Server CPU/req is the server process's CPU time (user + system) per answered request; \"vs bare (CPU)\" is bare CPU/req divided by the scenario's: the req/s ratio a server that is the bottleneck would show (server capacity). The HTTP targets are judged on it. Server busy is the server's CPU time over the round's elapsed time: well under 100%, the server was waiting for the client (or for a core), so req/s measured the client and the machine, not the server.",
        ],
      },
    ],
    targets: [
      target('HTTP reused token (plugin, default cache)', 'plugin-reused', 'bare', 'bare', 0.95),
      target('HTTP new token per request (plugin)', 'plugin-new', 'raw', 'node:crypto hook', 0.97),
      target('HTTP introspection, cached token', 'plugin-introspection', 'bare', 'bare', 0.9),
    ],
  }
}
