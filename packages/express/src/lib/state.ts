import type { BearerGate, GateAccepted } from '@bearerkit/http'

/** The gate that accepted a request, and how: lets a second middleware add route scopes. */
export const authenticated = new WeakMap<
  object,
  { readonly gate: BearerGate; readonly result: GateAccepted }
>()
