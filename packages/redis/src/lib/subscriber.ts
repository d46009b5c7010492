import { publishStoreEvent } from '@bearerkit/core'
import type { RedisClient } from './connection.js'

/**
 * The one pub/sub connection of a set of stores (a duplicate of the command client: a connection
 * in subscriber mode can run nothing else). It routes messages by channel and re-subscribes, then
 * tells its listeners, whenever the connection comes back.
 */
export interface Subscriber {
  /** Whether the connection is up and subscribed right now. */
  readonly ready: boolean
  /** Calls `handler` for every message on `channel`. */
  route(channel: string, handler: (message: string) => void): void
  /** Calls `listener` each time the subscription is (re)established. */
  onSubscribed(listener: () => void): void
  /** Closes the connection (it is always ours). */
  close(): Promise<void>
}

export function createSubscriber(client: RedisClient, channels: readonly string[]): Subscriber {
  const connection = client.duplicate()
  const handlers = new Map<string, (message: string) => void>()
  const listeners: (() => void)[] = []
  let subscribed = false
  let closing = false

  const subscribe = async (): Promise<void> => {
    try {
      await connection.subscribe(...channels)
    } catch {
      // The connection dropped again before the subscription took; 'ready' comes back with it.
      return
    }
    subscribed = true
    publishStoreEvent({
      store: 'revocation',
      event: 'recovered',
      reason: 'subscribed',
      source: 'redis',
    })
    for (const listener of listeners) listener()
  }
  const lost = (): void => {
    if (!subscribed || closing) return
    subscribed = false
    publishStoreEvent({
      store: 'revocation',
      event: 'degraded',
      reason: 'disconnected',
      source: 'redis',
    })
  }

  // An 'error' listener keeps ioredis from printing every connection error; the loss itself is
  // reported once, by 'close'.
  connection.on('error', () => undefined)
  connection.on('close', lost)
  connection.on('ready', () => {
    void subscribe()
  })
  connection.on('message', (channel: string, message: string) => {
    handlers.get(channel)?.(message)
  })
  // A duplicate of a lazy client waits for a first command: connect it now.
  if (connection.status === 'wait') connection.connect().catch(() => undefined)
  else if (connection.status === 'ready') void subscribe()

  return {
    get ready() {
      return subscribed && connection.status === 'ready'
    },
    route(channel, handler) {
      handlers.set(channel, handler)
    },
    onSubscribed(listener) {
      listeners.push(listener)
    },
    async close() {
      closing = true
      subscribed = false
      connection.disconnect()
      await Promise.resolve()
    },
  }
}
