import {
  callStore,
  isVerifierUnavailable,
  publishStoreEvent as publish,
  type StoreCallOptions,
  type StoreKind,
} from '@bearerkit/core'
import type { Cluster, Redis } from 'ioredis'

/** A Redis or Redis Cluster client of ioredis. */
export type RedisClient = Redis | Cluster

/**
 * One client and its deadline: every command goes through {@link Connection.run}, which races it
 * with the deadline and the caller's signal and keeps track of each store's health, so that a
 * degradation and a recovery are each published once on `STORE_CHANNEL`.
 */
export interface Connection {
  readonly client: RedisClient
  readonly timeout: number
  run<T>(
    kind: StoreKind,
    command: (client: RedisClient) => Promise<T>,
    options?: StoreCallOptions,
  ): Promise<T>
  /** Marks `kind` as degraded (published once until it recovers). */
  degraded(kind: StoreKind, reason: string): void
  /** Marks `kind` as working again (published once when it was degraded). */
  recovered(kind: StoreKind): void
}

export function createConnection(client: RedisClient, timeout: number): Connection {
  const down = new Set<StoreKind>()
  const degraded = (kind: StoreKind, reason: string): void => {
    if (down.has(kind)) return
    down.add(kind)
    publish({ store: kind, event: 'degraded', reason, source: 'redis' })
  }
  const recovered = (kind: StoreKind): void => {
    if (!down.delete(kind)) return
    publish({ store: kind, event: 'recovered', source: 'redis' })
  }
  return {
    client,
    timeout,
    async run(kind, command, options) {
      try {
        const answer = await callStore(kind, () => command(client), {
          timeout,
          signal: options?.signal,
        })
        recovered(kind)
        return answer
      } catch (error) {
        // The caller's own abort (the request went away) says nothing about Redis; an abort by a
        // guard's deadline (its reason is a VerifierUnavailableError) does.
        const signal = options?.signal
        if (signal?.aborted !== true || isVerifierUnavailable(signal.reason)) {
          degraded(kind, reasonOf(error))
        }
        throw error
      }
    },
    degraded,
    recovered,
  }
}

const reasonOf = (error: unknown): string => {
  const reason = (error as { reason?: unknown } | null)?.reason
  return typeof reason === 'string' ? reason : 'store_error'
}

/** Whether `value` looks like an ioredis `Redis` or `Cluster` (judged by shape, across copies). */
export function isRedisClient(value: unknown): value is RedisClient {
  const candidate = value as Record<string, unknown> | null
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.set === 'function' &&
    typeof candidate.get === 'function' &&
    typeof candidate.eval === 'function' &&
    typeof candidate.duplicate === 'function' &&
    typeof candidate.status === 'string'
  )
}
