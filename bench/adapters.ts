import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { startChild, type Child } from './lib/child.js'
import type { BenchConfig } from './lib/config.js'
import { median } from './lib/harness.js'
import {
  ADAPTER_KINDS,
  type AdapterKind,
  type FromAdapterServer,
  type ToAdapterServer,
} from './lib/adapter-messages.js'
import { formatInt, formatRatio, type SectionResult } from './lib/report.js'
import { AUDIENCE, ISSUER, keysFor, mintPool } from './lib/tokens.js'

/** Each framework with bearerkit in front, against the same framework's bare route. */
const PAIRS: readonly { label: string; bare: AdapterKind; bearer: AdapterKind }[] = [
  { label: 'Express 5 + @bearerkit/express', bare: 'express-bare', bearer: 'express-bearer' },
  {
    label: 'Hono on @hono/node-server + @bearerkit/hono',
    bare: 'hono-bare',
    bearer: 'hono-bearer',
  },
  { label: 'node:http forward-auth server', bare: 'node-bare', bearer: 'forward-auth' },
]

type Server = Child<ToAdapterServer, FromAdapterServer> & { readonly port: number }

interface Round {
  readonly rps: number
  /** Server CPU time per request, in microseconds. */
  readonly cpuPerRequest: number
}

async function startServer(kind: AdapterKind, publicPem: string): Promise<Server> {
  const script = fileURLToPath(new URL('./adapters-server.js', import.meta.url))
  const child = startChild<ToAdapterServer, FromAdapterServer>(script)
  const ready = await child.ask(
    { type: 'start', kind, publicPem, issuer: ISSUER, audience: AUDIENCE },
    'ready',
  )
  return Object.assign(child, { port: ready.port })
}

async function load(
  server: Server,
  token: string,
  seconds: number,
  http: BenchConfig['http'],
): Promise<Round> {
  const before = await server.ask({ type: 'cpu' }, 'cpu')
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}`,
    connections: http.connections,
    pipelining: http.pipelining,
    duration: seconds,
    // Every server gets the same request, token included (the bare ones ignore it).
    requests: [{ method: 'GET', path: '/mcp', headers: { authorization: `Bearer ${token}` } }],
  })
  const after = await server.ask({ type: 'cpu' }, 'cpu')
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(
      `adapter benchmark answered ${result.non2xx} non-2xx and ${result.errors} errors: ` +
        JSON.stringify(result.statusCodeStats),
    )
  }
  const total = result.requests.total
  return {
    rps: total / result.duration,
    cpuPerRequest: (after.micros - before.micros) / Math.max(1, total),
  }
}

/**
 * autocannon on loopback against each framework bare and with its bearerkit adapter, each server
 * in its own process, rounds interleaved as in the HTTP section. Judged on server CPU per request.
 */
export async function runAdapters(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<SectionResult> {
  const { http } = config
  const keys = await keysFor('RS256')
  const [token] = await mintPool(keys, 1)
  const publicPem = (keys.keyInput as string).toString()
  log('adapters: starting servers')
  const servers = new Map<AdapterKind, Server>()
  try {
    const started = await Promise.all(
      ADAPTER_KINDS.map(async (kind) => [kind, await startServer(kind, publicPem)] as const),
    )
    for (const [kind, server] of started) servers.set(kind, server)
    for (const kind of ADAPTER_KINDS) {
      log(`adapters warm-up: ${kind}`)
      await load(servers.get(kind) as Server, token as string, http.warmupSeconds, http)
    }
    const rounds = new Map<AdapterKind, Round[]>(ADAPTER_KINDS.map((kind) => [kind, []]))
    for (let round = 0; round < http.rounds; round++) {
      log(`adapters round ${round + 1}/${http.rounds}`)
      for (let i = 0; i < ADAPTER_KINDS.length; i++) {
        const kind = ADAPTER_KINDS[(i + round) % ADAPTER_KINDS.length] as AdapterKind
        rounds
          .get(kind)
          ?.push(await load(servers.get(kind) as Server, token as string, http.roundSeconds, http))
      }
    }
    const rps = (kind: AdapterKind): number => median((rounds.get(kind) ?? []).map((r) => r.rps))
    const cpu = (kind: AdapterKind): number =>
      median((rounds.get(kind) ?? []).map((r) => r.cpuPerRequest))
    const rows = PAIRS.map((pair) => [
      pair.label,
      `${cpu(pair.bare).toFixed(1)} µs`,
      `${cpu(pair.bearer).toFixed(1)} µs`,
      `${(cpu(pair.bearer) - cpu(pair.bare)).toFixed(1)} µs`,
      formatRatio(cpu(pair.bare) / cpu(pair.bearer)),
      `${formatInt(rps(pair.bare))} / ${formatInt(rps(pair.bearer))}`,
    ])
    return {
      tables: [
        {
          title: 'HTTP adapters: each framework against its own bare route, RS256, reused token',
          headers: [
            'Adapter',
            'Bare CPU/req',
            'With bearerkit CPU/req',
            'Added CPU/req',
            'Server capacity vs bare',
            'req/s bare / with',
          ],
          rows,
          notes: [
            `Median of ${http.rounds} interleaved rounds of ${http.roundSeconds} s per server after ${http.warmupSeconds} s of warm-up; autocannon in the benchmark process, ${http.connections} connections, ${http.pipelining} pipelined; every server in a process of its own answers GET /mcp with \`{"ok":true}\` (the forward-auth server answers 200 with identity headers and no body; its bare peer is a node:http listener). bearerkit runs with core's cache in front of createJwtVerifier and one reused token, so the added CPU is the adapter and the gate, not RSA.`,
          ],
        },
      ],
      targets: [],
    }
  } finally {
    for (const server of servers.values()) server.tell({ type: 'stop' })
    await Promise.all([...servers.values()].map((s) => s.exited))
  }
}
