/** The reason an aborted signal carries, as an `Error` (a non-Error reason is wrapped). */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason
  return reason instanceof Error ? reason : new Error(String(reason))
}

/** The races waiting on one signal, behind the one abort listener they share. */
interface Waiters {
  readonly rejects: Set<(reason: Error) => void>
  readonly listener: () => void
}

// One listener per caller signal however many races use it: a long-lived signal passed to 10,000
// concurrent verifications must not collect 10,000 listeners (MaxListenersExceededWarning, and
// an O(n) removal each). Keyed weakly: a signal nobody holds any more takes its entry with it.
const waiting = new WeakMap<AbortSignal, Waiters>()

function wait(signal: AbortSignal, reject: (reason: Error) => void): () => void {
  let entry = waiting.get(signal)
  if (entry === undefined) {
    const rejects = new Set<(reason: Error) => void>()
    const listener = (): void => {
      // Dropped before anyone is told: a rejection handler that races this signal again sees it
      // aborted and rejects at once, and never lands in a set nobody will empty.
      waiting.delete(signal)
      const reason = abortReason(signal)
      for (const each of rejects) each(reason)
    }
    entry = { rejects, listener }
    waiting.set(signal, entry)
    signal.addEventListener('abort', listener, { once: true })
  }
  const { rejects, listener } = entry
  rejects.add(reject)
  return () => {
    rejects.delete(reject)
    if (rejects.size === 0 && waiting.get(signal) === entry) {
      waiting.delete(signal)
      signal.removeEventListener('abort', listener)
    }
  }
}

/**
 * Waits for `work`, or rejects with the signal's reason as soon as `signal` aborts (at once when it
 * already has). The work itself is not cancelled: it may be shared with other callers (a
 * coalesced fetch or verification), or be a call that cannot be told to stop. All the races on
 * one signal share a single abort listener, removed when the last of them settles, so a
 * long-lived signal collects no listeners however many verifications use it.
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
    const done = wait(signal, reject)
    work.then(
      (value) => {
        done()
        resolve(value)
      },
      (error: unknown) => {
        done()
        reject(error instanceof Error ? error : new Error(String(error)))
      },
    )
  })
}
