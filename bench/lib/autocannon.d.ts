// The part of autocannon's programmatic API the benchmarks use (autocannon ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  interface RequestParams {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string
  }

  interface Request extends RequestParams {
    setupRequest?: (request: RequestParams, context: Record<string, unknown>) => RequestParams
  }

  interface Options {
    url: string
    connections?: number
    pipelining?: number
    duration?: number
    /** Send this many requests, then stop (instead of running for `duration`). */
    amount?: number
    /** Seconds a request may take before it counts as a timeout. */
    timeout?: number
    requests?: Request[]
    headers?: Record<string, string>
  }

  interface Histogram {
    average: number
    min: number
    max: number
    p50: number
    p99: number
    total: number
  }

  interface Result {
    requests: Histogram
    latency: Histogram
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    /** Responses with a 2xx status. */
    '2xx': number
    statusCodeStats: Record<string, { count: number }>
  }

  interface Instance extends EventEmitter, PromiseLike<Result> {
    stop(): void
  }

  function autocannon(options: Options): Instance
  export default autocannon
}
