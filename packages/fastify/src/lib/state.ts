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

// Keyed by the Fastify request object; weak so nothing outlives its request. Only refused
// requests get an entry.
export const errors = new WeakMap<object, ErrorEntry>()

/**
 * The request property holding the {@link Authentication} of an accepted request. The plugin
 * declares it with `decorateRequest`, so every request of its scope has it from the start (null)
 * and keeps one shape.
 */
export const AUTHENTICATION: unique symbol = Symbol('@bearerkit/fastify authentication')

type Holder = { [AUTHENTICATION]?: Authentication | null }

/**
 * What the plugin decided about each accepted request. A property on the request rather than a
 * WeakMap: every accepted request would add an entry to the map, and an entry costs far more than
 * a property (the collector tracks each as an ephemeron): about half a microsecond per request,
 * measured, on a path that costs a few.
 */
export const authenticated = {
  get(request: object): Authentication | undefined {
    return (request as Holder)[AUTHENTICATION] ?? undefined
  },
  set(request: object, value: Authentication): void {
    ;(request as Holder)[AUTHENTICATION] = value
  },
}
