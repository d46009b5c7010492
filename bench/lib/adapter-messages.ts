/** Servers of the adapter benchmark: each framework bare, and with bearerkit in front. */
export const ADAPTER_KINDS = [
  'express-bare',
  'express-bearer',
  'hono-bare',
  'hono-bearer',
  'node-bare',
  'forward-auth',
] as const
export type AdapterKind = (typeof ADAPTER_KINDS)[number]

/** Parent -> adapter server. */
export type ToAdapterServer =
  | {
      readonly type: 'start'
      readonly kind: AdapterKind
      readonly publicPem: string
      readonly issuer: string
      readonly audience: string
    }
  | { readonly type: 'cpu' }
  | { readonly type: 'stop' }

/** Adapter server -> parent. */
export type FromAdapterServer =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'cpu'; readonly micros: number }
  | { readonly type: 'error'; readonly message: string }
