import type { HarnessOptions } from './harness.js'

/** Sizes and durations of one run: the default run or `--quick`. */
export interface BenchConfig {
  readonly quick: boolean
  readonly micro: HarnessOptions
  readonly http: {
    /** Warm-up per scenario before the rounds, in seconds. */
    readonly warmupSeconds: number
    /** Length of one round, in seconds. */
    readonly roundSeconds: number
    readonly rounds: number
    /** Concurrent autocannon connections. */
    readonly connections: number
    /** Requests in flight per connection. */
    readonly pipelining: number
    /** Distinct tokens minted for the "new token on every request" scenarios. */
    readonly pool: number
  }
  readonly scale: {
    /** Distinct tokens pushed through the verified-token cache. */
    readonly tokens: number
    /** `max` of that cache. */
    readonly cacheMax: number
    /** Concurrent first uses of one opaque token. */
    readonly concurrent: number
    /** Tokens naming a random `kid`. */
    readonly randomKids: number
  }
}

/** The settings for a run; `quick` trades precision for time. */
export function benchConfig(quick: boolean): BenchConfig {
  return quick
    ? {
        quick,
        micro: { warmupMs: 100, rounds: 5, roundMs: 70 },
        http: {
          warmupSeconds: 0.3,
          roundSeconds: 0.5,
          rounds: 3,
          connections: 10,
          pipelining: 10,
          pool: 600,
        },
        scale: { tokens: 100_000, cacheMax: 10_000, concurrent: 1000, randomKids: 10_000 },
      }
    : {
        quick,
        micro: { warmupMs: 200, rounds: 21, roundMs: 70 },
        http: {
          warmupSeconds: 1,
          roundSeconds: 1.25,
          rounds: 8,
          connections: 10,
          pipelining: 10,
          pool: 2000,
        },
        scale: { tokens: 1_000_000, cacheMax: 10_000, concurrent: 1000, randomKids: 10_000 },
      }
}
