import diagnostics from 'node:diagnostics_channel'

/** The four kinds of shared state. */
export type StoreKind = 'replay' | 'session' | 'cache' | 'revocation'

/**
 * Name of the `node:diagnostics_channel` channel on which stores report their health as
 * {@link StoreEvent}s: every failed call, every degradation (a store or its connection became
 * unusable) and every recovery.
 *
 * @example
 * ```ts
 * import diagnostics from 'node:diagnostics_channel'
 * diagnostics.subscribe(STORE_CHANNEL, (event) => log.warn(event, 'store health'))
 * ```
 */
export const STORE_CHANNEL = 'bearerkit:store'

/** One store health event. It never carries a token, a key or a value. */
export interface StoreEvent {
  /** Which store. */
  readonly store: StoreKind
  /**
   * `failure`: one call failed (timeout, error, wrong answer); `degraded`: the store (or its
   * connection, or the revocation copy) stopped being usable; `recovered`: usable again.
   */
  readonly event: 'failure' | 'degraded' | 'recovered'
  /** Stable reason: `store_timeout`, `store_error`, `store_invalid_answer`, `store_stale`, `disconnected` ... */
  readonly reason?: string
  /** Which implementation reported it, when not the caller's guard (`redis` ...). */
  readonly source?: string
}

const storeChannel = diagnostics.channel(STORE_CHANNEL)

/** Publishes `event` on {@link STORE_CHANNEL} when anybody listens. */
export function publishStoreEvent(event: StoreEvent): void {
  if (storeChannel.hasSubscribers) storeChannel.publish(event)
}
