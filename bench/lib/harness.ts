import { cpuUsage, hrtime } from 'node:process'

/** One measured operation. `run` is awaited only when `async` is true. */
export interface Candidate {
  readonly name: string
  readonly async: boolean
  readonly run: () => unknown
}

/** Summary of the per-round ns/op of one candidate. */
export interface Stats {
  /** Median ns/op over the rounds. */
  readonly median: number
  readonly min: number
  readonly max: number
  /** Operations per second at the median. */
  readonly opsPerSecond: number
  readonly rounds: number
}

/** What one candidate measured: CPU time per operation (the ratios), and wall time. */
export interface Measurement {
  /** CPU time of the process (every thread, user and system) per operation. */
  readonly cpu: Stats
  /** Elapsed time per operation. */
  readonly wall: Stats
  /** CPU ns/op of each round, in round order (round i of every candidate ran in the same cycle). */
  readonly cpuRounds: readonly number[]
}

interface Round {
  readonly wallNs: number
  readonly cpuNs: number
}

/** How long to measure. */
export interface HarnessOptions {
  /** Warm-up per candidate before any round, in milliseconds. */
  readonly warmupMs: number
  /** Rounds per candidate. */
  readonly rounds: number
  /** Length of one round, in milliseconds. */
  readonly roundMs: number
}

// Results are written here so that the optimiser cannot drop the calls as dead code.
let sink: unknown

/** The last value an operation returned (read once at the end to keep `sink` alive). */
export function lastResult(): unknown {
  return sink
}

/**
 * Runs `candidate` for `ms` milliseconds in batches and returns ns/op. The clock is read once per
 * batch, so its cost is spread over the batch; a batch is sized to take about 1 ms.
 */
async function measureRound(candidate: Candidate, ms: number, batch: number): Promise<Round> {
  const budget = BigInt(Math.round(ms * 1e6))
  const cpuStart = cpuUsage()
  const start = hrtime.bigint()
  let ops = 0
  let elapsed = 0n
  const run = candidate.run
  if (candidate.async) {
    do {
      for (let i = 0; i < batch; i++) sink = await run()
      ops += batch
      elapsed = hrtime.bigint() - start
    } while (elapsed < budget)
  } else {
    do {
      for (let i = 0; i < batch; i++) sink = run()
      ops += batch
      elapsed = hrtime.bigint() - start
    } while (elapsed < budget)
  }
  const cpu = cpuUsage(cpuStart)
  return { wallNs: Number(elapsed) / ops, cpuNs: ((cpu.user + cpu.system) * 1000) / ops }
}

/** A batch size that takes about a millisecond, from a short trial. */
async function calibrate(candidate: Candidate): Promise<number> {
  const perOp = (await measureRound(candidate, 20, 1)).wallNs
  return Math.max(1, Math.min(100_000, Math.round(1e6 / perOp)))
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** Median, min and max of per-round values (ns/op). */
export function summarize(values: readonly number[]): Stats {
  const m = median(values)
  return {
    median: m,
    min: Math.min(...values),
    max: Math.max(...values),
    opsPerSecond: 1e9 / m,
    rounds: values.length,
  }
}

/**
 * Measures several candidates against each other. CPU time (`process.cpuUsage`, every thread of
 * the process) is what the ratios use: on a shared machine, elapsed time also counts the time the
 * process waited for a core, which has nothing to do with the code measured. Every candidate is warmed up, then the rounds
 * are interleaved (round 1 of each, round 2 of each ...) with the order rotated every round, so
 * drift in the machine's speed (other processes, frequency scaling) hits every candidate alike and
 * the ratios between them stay fair.
 */
export async function compare(
  candidates: readonly Candidate[],
  options: HarnessOptions,
): Promise<Map<string, Measurement>> {
  const batches = new Map<string, number>()
  for (const candidate of candidates) {
    await measureRound(candidate, options.warmupMs, 16)
    batches.set(candidate.name, await calibrate(candidate))
  }
  const samples = new Map<string, Round[]>(candidates.map((c) => [c.name, []]))
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < candidates.length; i++) {
      const candidate = candidates[(i + round) % candidates.length] as Candidate
      const result = await measureRound(
        candidate,
        options.roundMs,
        batches.get(candidate.name) as number,
      )
      samples.get(candidate.name)?.push(result)
    }
  }
  return new Map(
    [...samples].map(([name, rounds]) => [
      name,
      {
        cpu: summarize(rounds.map((r) => r.cpuNs)),
        wall: summarize(rounds.map((r) => r.wallNs)),
        cpuRounds: rounds.map((r) => r.cpuNs),
      },
    ]),
  )
}

/**
 * How many times faster `candidate` is than `baseline`, judged round by round: the median over the
 * rounds of baseline CPU/op divided by the candidate's CPU/op of the same round. Round i of every
 * candidate runs within one cycle of the interleaved schedule, so a slow patch of the machine (a
 * neighbour's burst, frequency scaling) lands on both sides of a pair; the median then drops the
 * pairs it hit unevenly. A ratio of medians is more exposed to a burst that falls on the rounds
 * of one side only.
 */
export function pairedRatio(baseline: Measurement, candidate: Measurement): Stats {
  const ratios = baseline.cpuRounds.map((base, i) => base / (candidate.cpuRounds[i] as number))
  return summarize(ratios)
}
