/**
 * Waits for `promise`, or rejects with the signal's reason as soon as `signal` aborts. The promise
 * itself is not cancelled: it is shared with other callers (a coalesced JWKS fetch), and it never
 * rejects.
 */
export async function raceAbort(
  promise: Promise<void>,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal === undefined) return promise
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  const aborted = new Promise<void>((_resolve, reject) => {
    onAbort = () => {
      const reason: unknown = signal.reason
      reject(reason instanceof Error ? reason : new Error(String(reason)))
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort as () => void)
  }
}
