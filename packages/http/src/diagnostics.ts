import diagnostics from 'node:diagnostics_channel'

/**
 * Name of the `diagnostics_channel` channel on which the gate publishes every decision about a
 * request as a {@link GateEvent}. The verifier's own decisions are on core's `VERIFY_CHANNEL`.
 *
 * @example
 * ```ts
 * import diagnostics from 'node:diagnostics_channel'
 * diagnostics.subscribe(HTTP_CHANNEL, (event) => metrics.count((event as GateEvent).reason))
 * ```
 */
export const HTTP_CHANNEL = 'bearerkit:http'

/** One decision about a request. It never carries the token, the URL or any header value. */
export interface GateEvent {
  /** `accepted`, `refused` (4xx), `unavailable` (503) or `preflight` (passed without a token). */
  readonly outcome: 'accepted' | 'refused' | 'unavailable' | 'preflight'
  /** The HTTP status of the answer (200 for an accepted request). */
  readonly status: number
  /** Log-safe reason code of a refusal (`missing_token`, `expired`, `wrong_audience` ...). */
  readonly reason?: string
  /** For `accepted`: the token's client (never the token or its subject). */
  readonly clientId?: string
}

export const httpChannel = diagnostics.channel(HTTP_CHANNEL)
