import type { BearerError } from '@bearerkit/core'
import type { BearerGate, GateAccepted } from '@bearerkit/http'

/** A `BearerError` on its way out, and the gate whose settings render it. */
export interface ErrorEntry {
  readonly error: BearerError
  readonly gate: BearerGate
}

/** What the plugin decided about an authenticated request. */
export interface Authentication {
  readonly gate: BearerGate
  readonly result: GateAccepted
}

// Keyed by the Fastify request object; weak so nothing outlives its request.
export const errors = new WeakMap<object, ErrorEntry>()
export const authenticated = new WeakMap<object, Authentication>()
