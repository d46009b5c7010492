import type { HarnessOptions, Measurement } from './harness.js'
import type { Peer } from './peers.js'
import type { BenchAlgorithm } from './raw-jwt.js'

/** Scenarios the HTTP benchmark server can run (one per child process). */
export const SERVER_KINDS = [
  'bare',
  'raw-hook',
  'fastify-jwt',
  'fastify-jwt-cached',
  'plugin-jwt',
  'plugin-jwt-cached',
  'plugin-jwt-cache-miss',
  'plugin-introspection',
] as const
export type ServerKind = (typeof SERVER_KINDS)[number]

/** Parent -> server. */
export type ToServer =
  | {
      readonly type: 'start'
      readonly kind: ServerKind
      readonly publicPem: string
      readonly issuer: string
      readonly audience: string
      /** `max` of the verified-token cache of the cached scenarios. */
      readonly cacheMax: number
    }
  | { readonly type: 'cpu' }
  | { readonly type: 'stop' }

/** Server -> parent. */
export type FromServer =
  | {
      readonly type: 'ready'
      readonly port: number
      /** The token to send, when the server made its own (the opaque introspection token). */
      readonly token?: string
    }
  | {
      readonly type: 'cpu'
      /** CPU time of the server process so far (user + system), in microseconds. */
      readonly micros: number
    }
  | { readonly type: 'error'; readonly message: string }

/** Parent -> micro worker: measure one group of one algorithm, then exit. */
export type ToMicroWorker = {
  readonly type: 'run'
  readonly alg: BenchAlgorithm
  /** A peer: the bound and that library. `bearerkit`: the bound, the verifier uncached, a cache hit. */
  readonly group: Peer | 'bearerkit'
  readonly token: string
  /** PEM SPKI of the public key (asymmetric algorithms). */
  readonly publicPem?: string
  /** The HMAC secret, base64 (HS256). */
  readonly secret?: string
  readonly harness: HarnessOptions
}

/** Micro worker -> parent. */
export type FromMicroWorker =
  | {
      readonly type: 'result'
      /** Candidate name -> what it measured. */
      readonly measurements: readonly (readonly [string, Measurement])[]
    }
  | { readonly type: 'error'; readonly message: string }

/** Parent -> instructions-ops child: count one group of operations under callgrind. */
export interface ToOpsChild {
  readonly type: 'run'
  readonly group: 'micro' | 'dpop'
  readonly warmup: number
  readonly measured: number
  /** The `--callgrind-out-file` prefix given to valgrind, without `.%p`. */
  readonly out: string
}

/** instructions-ops child -> parent. */
export type FromOpsChild =
  | {
      readonly type: 'result'
      /** Instructions per operation on the main thread, by operation name. */
      readonly counts: readonly (readonly [string, number])[]
    }
  | { readonly type: 'error'; readonly message: string }
