import type { BearerError } from '@bearerkit/core'
import type { Settings } from './settings.js'

/** A refusal thrown by the plugin, remembered so the plugin can render it if nobody else does. */
export interface PendingRefusal {
  readonly error: BearerError
  readonly settings: Settings
}

/** What the plugin decided about an authenticated request. */
export interface Authentication {
  readonly settings: Settings
  /** Every scope the route needs (`requiredScopes` and the route's own). */
  readonly scopes: readonly string[]
}

// Keyed by the Fastify request object; weak so nothing outlives its request.
export const pending = new WeakMap<object, PendingRefusal>()
export const authenticated = new WeakMap<object, Authentication>()
