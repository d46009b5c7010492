import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import autocannon from 'autocannon'
import { SCENARIOS as HTTP_SCENARIOS, bearerRequest, type Scenario } from './http.js'
import { startChild } from './lib/child.js'
import type { BenchConfig } from './lib/config.js'
import type { FromOpsChild, FromServer, ToOpsChild, ToServer } from './lib/messages.js'
import { BENCH_ALGORITHMS } from './lib/raw-jwt.js'
import { formatInt, formatRatio, type SectionResult } from './lib/report.js'
import { AUDIENCE, ISSUER, keysFor, mintPool } from './lib/tokens.js'

const run = promisify(execFile)

// Not the introspection scenario: its result cache expires on the clock, and under valgrind the
// clock runs about fifty times faster against the work, so it would count introspection calls
// that a server at full speed makes a few times a minute. Nor the peers: bearerkit against bare
// Fastify and against the hook is what the counts are for.
const COUNTED = ['bare', 'plugin-reused', 'raw', 'plugin-new']
const SCENARIOS: readonly Scenario[] = HTTP_SCENARIOS.filter((scenario) =>
  COUNTED.includes(scenario.id),
)

/** valgrind's arguments to run node under callgrind, its dumps named `<out>.<pid>...`. */
function callgrind(out: string, more: readonly string[] = []): string[] {
  return [
    '--quiet',
    '--tool=callgrind',
    // Node writes its JIT code into memory it then runs: valgrind must notice.
    '--smc-check=all-non-file',
    // A dump per thread: the count is the main thread's. V8 compiles optimised code and marks
    // the heap on threads of its own, and when a compilation lands inside the counted requests
    // rather than the warm-up is timing: counting those threads too moved the plugin's count by
    // 6,000 per request between two runs of one build.
    '--separate-threads=yes',
    ...more,
    `--callgrind-out-file=${out}.%p`,
    process.execPath,
  ]
}

/** Whether valgrind and callgrind_control can be run here. */
async function hasValgrind(): Promise<boolean> {
  try {
    await run('valgrind', ['--version'])
    await run('callgrind_control', ['--version'])
    return true
  } catch {
    return false
  }
}

/**
 * The HTTP scenarios again, each server run under valgrind's callgrind, which counts the
 * instructions its main thread executes: about the same count for the same work whatever else the
 * machine does, where server CPU time moves by ten per cent and more between runs on a shared
 * virtual machine. Each server gets a warm-up (its JIT settles), then its counters are zeroed,
 * a fixed number of requests is sent one at a time, and the counters are dumped: instructions per
 * answered request. Information only: the targets stay on CPU time. Only with `--only
 * instructions`, and only where valgrind is installed (minutes: everything runs about fifty times
 * slower).
 */
export async function runInstructions(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<SectionResult> {
  if (!(await hasValgrind())) {
    throw new Error(
      'instructions: valgrind and callgrind_control are needed (apt-get install valgrind)',
    )
  }
  const warmup = config.quick ? 3000 : 8000
  const measured = config.quick ? 1000 : 5000
  const keys = await keysFor('RS256')
  const pool = await mintPool(keys, config.http.pool)
  const publicPem = (keys.keyInput as string).toString()
  const cacheMax = Math.floor(config.http.pool / 2)
  const directory = await mkdtemp(join(tmpdir(), 'bearerkit-callgrind-'))
  const script = fileURLToPath(new URL('./http-server.js', import.meta.url))

  const count = async (scenario: Scenario): Promise<number> => {
    const out = join(directory, scenario.id)
    const child = startChild<ToServer, FromServer>(script, callgrind(out), 'valgrind')
    try {
      const ready = await child.ask(
        {
          type: 'start',
          kind: scenario.server,
          publicPem,
          issuer: ISSUER,
          audience: AUDIENCE,
          cacheMax,
        },
        'ready',
      )
      const tokens = scenario.tokens === 'one' ? pool.slice(0, 1) : pool
      const send = async (amount: number): Promise<number> => {
        const result = await autocannon({
          url: `http://127.0.0.1:${ready.port}`,
          // One request at a time: each is read, handled and answered alone, so the count per
          // request does not depend on how many requests a read happens to carry (with 10
          // connections of 10 pipelined, two runs counted bare at 93,000 and 109,000).
          connections: 1,
          pipelining: 1,
          amount,
          // Slow under valgrind: no request may time out.
          timeout: 600,
          requests: [bearerRequest(tokens)],
        })
        if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
          throw new Error(
            `instructions: ${scenario.id} answered ${result.non2xx} non-2xx, ${result.errors} errors`,
          )
        }
        return result['2xx']
      }
      await send(warmup)
      const pid = String(child.process.pid)
      await run('callgrind_control', ['--zero', pid])
      const answered = await send(measured)
      await run('callgrind_control', ['--dump', pid])
      // `<out>.<pid>.<dump>-<thread>`: the dump requested, thread 1 (the main thread).
      const main = `${scenario.id}.${pid}.1-01`
      if (!(await readdir(directory)).includes(main)) {
        throw new Error(`instructions: no dump of ${scenario.id}'s main thread`)
      }
      const text = await readFile(join(directory, main), 'utf8')
      const summary = /^summary: (\d+)/m.exec(text)
      if (summary === null) {
        throw new Error(`instructions: no summary in the dump of ${scenario.id}`)
      }
      return Number(summary[1]) / answered
    } finally {
      child.process.kill('SIGKILL')
      await child.exited
    }
  }

  // The in-process operations: one child per group, started with instrumentation off (the
  // warm-up runs uncounted), which zeroes, runs and dumps each operation in turn itself.
  const opsScript = fileURLToPath(new URL('./instructions-ops.js', import.meta.url))
  const countOps = async (
    group: ToOpsChild['group'],
    warmupOps: number,
    measuredOps: number,
  ): Promise<readonly (readonly [string, number])[]> => {
    const out = join(directory, `ops-${group}`)
    const child = startChild<ToOpsChild, FromOpsChild>(
      opsScript,
      callgrind(out, ['--instr-atstart=no']),
      'valgrind',
    )
    try {
      const result = await child.ask(
        { type: 'run', group, warmup: warmupOps, measured: measuredOps, out },
        'result',
      )
      return result.counts
    } finally {
      child.process.kill('SIGKILL')
      await child.exited
    }
  }

  const perRequest = new Map<string, number>()
  const perOperation = new Map<string, number>()
  try {
    // Two at a time (one per core): a count does not depend on what runs beside it.
    for (let i = 0; i < SCENARIOS.length; i += 2) {
      const pair = SCENARIOS.slice(i, i + 2)
      log(`instructions: ${pair.map((s) => s.id).join(', ')} under callgrind`)
      const counts = await Promise.all(pair.map(count))
      pair.forEach((scenario, k) => perRequest.set(scenario.id, counts[k] as number))
    }
    log('instructions: JWT verifications and DPoP requests in process under callgrind')
    const [micro, dpop] = await Promise.all([
      countOps('micro', config.quick ? 500 : 2000, config.quick ? 300 : 1000),
      countOps('dpop', config.quick ? 1000 : 3000, config.quick ? 500 : 2000),
    ])
    for (const [name, perOp] of [...micro, ...dpop]) perOperation.set(name, perOp)
  } finally {
    await rm(directory, { recursive: true, force: true })
  }
  const of = (id: string): number => perRequest.get(id) as number
  const op = (name: string): number => perOperation.get(name) as number
  return {
    tables: [
      {
        title: 'HTTP: instructions per request (callgrind), RS256',
        headers: [
          'Scenario',
          'Instructions/req',
          'Added over bare',
          'vs bare',
          'vs node:crypto hook',
        ],
        rows: SCENARIOS.map((scenario) => [
          scenario.label,
          formatInt(Math.round(of(scenario.id))),
          formatInt(Math.round(of(scenario.id) - of('bare'))),
          formatRatio(of('bare') / of(scenario.id)),
          formatRatio(of('raw') / of(scenario.id)),
        ]),
        notes: [
          `Each server in its own process under valgrind --tool=callgrind: ${formatInt(warmup)} requests of warm-up, counters zeroed, ${formatInt(measured)} requests counted, one at a time (autocannon, 1 connection, no pipelining, requests built as in the HTTP table), so that each request is read, handled and answered alone; the main thread's instructions only (V8's compiler and collector threads do their work when timing says). Two runs of one build on one machine agreed within 1% (bare 89,390 and 89,499; the reused-token plugin 107,739 and 107,900; other machines count other totals). The HTTP table's 10 pipelined requests per connection share reads and writes, so bare costs fewer instructions per request there and the ratios here are not its ratios. "vs bare" is bare's count divided by the scenario's, and likewise for the hook.`,
          "Instructions are user space only, and the main thread's: the kernel's part of a request (socket reads and writes) is not counted, nor the collector's helper threads, so these ratios sit below the CPU-time ratios of the HTTP table, which count it. Nor are instructions time: cache misses, and the signature check's native code, cost differently. The targets stay on CPU time; this table says where a difference is real when CPU time is too noisy to tell. The introspection scenario is left out: its result cache expires on the clock, which runs about fifty times faster against the work under valgrind.",
        ],
      },
      {
        title: 'In process: instructions per operation (callgrind)',
        headers: ['Operation', 'Instructions/op', 'vs the bound', 'Added'],
        rows: [
          ...BENCH_ALGORITHMS.flatMap((alg) => {
            const bound = op(`${alg} bound`)
            return (['bound', 'uncached', 'hit'] as const).map((kind) => [
              `${alg} ${kind === 'bound' ? 'node:crypto (bound)' : kind === 'uncached' ? 'bearerkit uncached' : 'bearerkit cache hit'}`,
              formatInt(Math.round(op(`${alg} ${kind}`))),
              formatRatio(bound / op(`${alg} ${kind}`)),
              formatInt(Math.round(op(`${alg} ${kind}`) - bound)),
            ])
          }),
          ...(['bearer', 'reference', 'dpop'] as const).map((name) => [
            {
              bearer: 'DPoP section: bearer request, cache hit',
              reference: 'DPoP section: reference (bearer request + one fresh ES256 verification)',
              dpop: 'DPoP section: DPoP request, fresh ES256 proof',
            }[name],
            formatInt(Math.round(op(name))),
            '',
            name === 'dpop' ? formatInt(Math.round(op('dpop') - op('reference'))) : '',
          ]),
        ],
        notes: [
          "Each group in its own process under valgrind --tool=callgrind, started with instrumentation off: every operation warmed up in turn (as the sections interleave their rounds), then for each: counters zeroed, a fixed number run one after the other (awaited when they answer a promise; the bound is not, as in the micro section), counters dumped; the main thread's instructions per operation. \"Added\" is the operation's count minus the bound's; for the DPoP request, minus the reference's: what the DPoP checks cost beyond one signature verification, in instructions.",
          'The signature checks run in OpenSSL, whose code paths under valgrind (which reports fewer CPU features) may differ from a native run: compare the rows of one algorithm, where the same verification is counted on both sides.',
        ],
      },
    ],
    targets: [],
  }
}
