/** The reason an aborted signal carries, as an `Error` (a non-Error reason is wrapped). */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason
  return reason instanceof Error ? reason : new Error(String(reason))
}

/**
 * Waits for `work`, or rejects with the signal's reason as soon as `signal` aborts (at once when it
 * already has). The work itself is not cancelled: it may be shared with other callers (a
 * coalesced fetch or verification), or be a call that cannot be told to stop. The abort listener
 * is removed when either side settles, so a long-lived signal does not collect listeners.
 *
 * @example
 * ```ts
 * const record = await raceAbort(Promise.resolve(store.load(token)), options.signal)
 * ```
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work
  if (signal.aborted) return Promise.reject(abortReason(signal))
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal))
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error instanceof Error ? error : new Error(String(error)))
      },
    )
  })
}
