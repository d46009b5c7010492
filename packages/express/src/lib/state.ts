import type { BearerGate, GateAccepted } from '@bearerkit/http'

/** The gate that accepted a request, and how: lets a second middleware add route scopes. */
export interface Authentication {
  readonly gate: BearerGate
  readonly result: GateAccepted
}

// Kept on the request object itself under a symbol only this package holds, as the Fastify
// plugin does: a WeakMap keyed by the request did the same with one weak entry per request for
// the garbage collector to trace. Not enumerable, so it never shows in a log of the request.
const AUTHENTICATION = Symbol('@bearerkit/express authentication')

type Holder = { [AUTHENTICATION]?: Authentication }

export const authenticated = {
  get(request: object): Authentication | undefined {
    return (request as Holder)[AUTHENTICATION]
  },
  set(request: object, value: Authentication): void {
    Object.defineProperty(request, AUTHENTICATION, {
      value,
      writable: true,
      enumerable: false,
      configurable: true,
    })
  },
}
