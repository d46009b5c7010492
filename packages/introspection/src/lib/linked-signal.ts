/**
 * Runs `task` with a short-lived signal that aborts when `parent` does.
 *
 * Why not `AbortSignal.any([parent, ...])`: every signal combined with a long-lived parent stays
 * registered on it, and Node 20 never prunes those registrations, so one per request would grow
 * without bound over a server's life. A listener added here is removed when the task ends.
 */
export async function withLinkedSignal<T>(
  parent: AbortSignal,
  task: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  parent.throwIfAborted()
  const controller = new AbortController()
  const onAbort = (): void => controller.abort(parent.reason)
  parent.addEventListener('abort', onAbort, { once: true })
  try {
    return await task(controller.signal)
  } finally {
    parent.removeEventListener('abort', onAbort)
  }
}
