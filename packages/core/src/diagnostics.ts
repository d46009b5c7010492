import diagnostics from 'node:diagnostics_channel'
import type { RefusalCode } from './access-token.js'

/**
 * Name of the `node:diagnostics_channel` channel on which every verification decision is
 * published as a {@link VerificationEvent}.
 *
 * @example
 * ```ts
 * import diagnostics from 'node:diagnostics_channel'
 * diagnostics.subscribe(VERIFY_CHANNEL, (event) => metrics.count(event.outcome))
 * ```
 */
export const VERIFY_CHANNEL = 'bearerkit:verify'

/** One verification decision. It never carries the token. */
export interface VerificationEvent {
  /** Which verifier decided: `jwt`, `introspection`, `provider`, `cache`, `composite` ... */
  readonly verifier: string
  readonly outcome: 'accepted' | 'refused' | 'unavailable'
  /** For `refused`: why. */
  readonly reason?: RefusalCode
  /** For `refused`: the short description also used as `error_description`. */
  readonly description?: string
  /** For `unavailable`: the error's stable code. */
  readonly errorCode?: string
  /** For `accepted`: the token's client and issuer (never the token or its subject). */
  readonly clientId?: string
  readonly issuer?: string
  /** Wall time of the decision, in milliseconds. */
  readonly duration: number
}

export const verifyChannel = diagnostics.channel(VERIFY_CHANNEL)
