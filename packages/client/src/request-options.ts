/**
 * Options every network step of the client takes. Each request has a deadline and a size limit,
 * and never follows a redirect.
 */
export interface RequestOptions {
  /** Whole-request deadline in milliseconds (connect, headers, body). Default 5,000. */
  timeout?: number
  /** Largest accepted response body, in bytes. Default 512 KiB. */
  maxBytes?: number
  /** The `fetch` to use. Default: the global one. */
  fetch?: typeof fetch
  /** Cancels the step; it then rejects with the signal's reason. */
  signal?: AbortSignal
}
