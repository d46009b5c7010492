/** One wait with a deadline: a node of the list of waits that share its timeout. */
interface Waiter {
  readonly deadline: number
  readonly reject: (reason: Error) => void
  readonly reason: () => Error
  prev: Waiter | null
  next: Waiter | null
  list: WaitList | null
}

/**
 * The pending waits of one timeout, oldest first. Every wait of a list has the same timeout, so
 * insertion order is deadline order: the sweep only ever looks at the head.
 */
interface WaitList {
  head: Waiter | null
  tail: Waiter | null
}

/** How often pending deadlines are looked at, in milliseconds: the precision of a deadline. */
const SWEEP_INTERVAL = 100

const lists = new Map<number, WaitList>()
let sweeper: ReturnType<typeof setInterval> | undefined

function unlink(waiter: Waiter): boolean {
  const list = waiter.list
  if (list === null) return false
  if (waiter.prev === null) list.head = waiter.next
  else waiter.prev.next = waiter.next
  if (waiter.next === null) list.tail = waiter.prev
  else waiter.next.prev = waiter.prev
  waiter.prev = null
  waiter.next = null
  waiter.list = null
  return true
}

function sweep(): void {
  const now = performance.now()
  let pending = false
  for (const [timeout, list] of lists) {
    let head = list.head
    while (head !== null && head.deadline <= now) {
      unlink(head)
      // The reason is built only for a wait that timed out; a rejection handler that starts a
      // new wait adds it at the tail, after everything looked at here.
      head.reject(head.reason())
      head = list.head
    }
    if (list.head === null) lists.delete(timeout)
    else pending = true
  }
  if (!pending && sweeper !== undefined) {
    clearInterval(sweeper)
    sweeper = undefined
  }
}

/**
 * Waits for `work`, or rejects with `reason()` once `timeout` milliseconds have passed, whichever
 * comes first. The work itself is not cancelled (it may be shared, or be a call that cannot be
 * told to stop); its late answer is dropped.
 *
 * Built for the request path: no timer per call. The waits of one timeout are kept in insertion
 * order, which is deadline order, and one shared interval (unreferenced, running only while a
 * wait is pending) rejects the overdue ones. A deadline therefore fires up to 100 ms late, which
 * is the point: it bounds a call that would otherwise never end, it does not time one.
 *
 * @param timeout Milliseconds, a finite number > 0.
 * @param reason Builds the rejection, called only when the deadline passes first.
 * @example
 * ```ts
 * const token = await raceDeadline(Promise.resolve(verifier.verifyToken(raw)), 30_000, () =>
 *   new VerifierUnavailableError('The verifier did not answer in time', { reason: 'timeout' }),
 * )
 * ```
 */
export function raceDeadline<T>(
  work: PromiseLike<T>,
  timeout: number,
  reason: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let list = lists.get(timeout)
    if (list === undefined) {
      list = { head: null, tail: null }
      lists.set(timeout, list)
    }
    const waiter: Waiter = {
      deadline: performance.now() + timeout,
      reject,
      reason,
      prev: list.tail,
      next: null,
      list,
    }
    if (list.tail === null) list.head = waiter
    else list.tail.next = waiter
    list.tail = waiter
    if (sweeper === undefined) {
      sweeper = setInterval(sweep, SWEEP_INTERVAL)
      // Node: the sweep never keeps a process alive. Other runtimes have no unref.
      ;(sweeper as { unref?: () => void }).unref?.()
    }
    // Promise.resolve follows a thenable's answer to its end: a thenable that answers with
    // another thenable (which may never answer) settles nothing before the deadline does, and a
    // `then` that throws, calls back twice or synchronously is a promise's business. A native
    // promise is passed through as it is.
    Promise.resolve(work).then(
      (value) => {
        if (unlink(waiter)) resolve(value)
      },
      (error: unknown) => {
        // The work's own rejection, passed on as it is: the caller decides what it means.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        if (unlink(waiter)) reject(error)
      },
    )
  })
}

/** The longest delay a Node.js timer holds: 2^31 − 1 milliseconds, about 24.8 days. */
export const MAX_TIMER_DELAY = 2_147_483_647

/**
 * `ms` made safe for `setTimeout` and `setInterval`. A longer delay than a timer holds does not
 * wait longer in Node.js: it fires after 1 ms (with a `TimeoutOverflowWarning`), so a deadline of
 * 30 days set as an option would end every call at once, and a 30-day interval would run every
 * millisecond. Such a delay waits as long as a timer can (about 24.8 days) instead.
 *
 * @param ms Milliseconds, a finite number >= 0 (as the options that give it are checked to be).
 * @example
 * ```ts
 * const timer = setTimeout(onTimeout, timerDelay(options.timeout))
 * ```
 */
export function timerDelay(ms: number): number {
  return ms > MAX_TIMER_DELAY ? MAX_TIMER_DELAY : ms
}
