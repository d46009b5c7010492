import { AsyncLocalStorage } from 'node:async_hooks'
import { timerDelay } from '@bearerkit/core'
import { OAuthClientError } from '../errors.js'

/** A host callback the caller is waiting for, on behalf of `owner` (a session). */
interface Frame {
  readonly owner: object
  waiting: boolean
}

// The callbacks whose answer is awaited, in the async context of the code they run: a call that
// comes from inside one of them can be told apart from a concurrent caller elsewhere.
const frames = new AsyncLocalStorage<readonly Frame[]>()

/**
 * Whether the current code runs inside a host callback that `owner` is still waiting for. Such a
 * caller must not wait for `owner` in turn: `owner` waits for it, so neither would ever answer.
 * Only calls made in the callback's async context are seen (not, say, a request the callback
 * sends to a server of its own that then calls back).
 */
export function awaitedByCaller(owner: object): boolean {
  return frames.getStore()?.some((frame) => frame.owner === owner && frame.waiting) ?? false
}

/**
 * Calls a host callback under a deadline. A callback is an extension point: it may throw, never
 * settle, or answer the wrong type. Each of those is `ERR_CALLBACK_FAILED` (with the callback's
 * error as `cause`), so the step fails closed and nothing waits forever. The callback runs in a
 * frame of `owner` that {@link awaitedByCaller} sees until its answer is in.
 */
export async function callHost<T>(
  name: string,
  timeout: number,
  call: () => T | Promise<T>,
  check: (value: unknown) => value is T,
  owner: object,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new OAuthClientError(
            'ERR_CALLBACK_FAILED',
            `${name} did not answer within ${timeout} ms`,
          ),
        ),
      timerDelay(timeout),
    )
  })
  const frame: Frame = { owner, waiting: true }
  try {
    const value: unknown = await Promise.race([
      frames.run([...(frames.getStore() ?? []), frame], () => Promise.resolve().then(call)),
      deadline,
    ])
    if (!check(value)) {
      throw new OAuthClientError(
        'ERR_CALLBACK_FAILED',
        `${name} answered with a value of the wrong type`,
      )
    }
    return value
  } catch (error) {
    if (error instanceof OAuthClientError && error.code === 'ERR_CALLBACK_FAILED') throw error
    throw new OAuthClientError('ERR_CALLBACK_FAILED', `${name} failed`, { cause: error })
  } finally {
    // Work the callback left running is no longer waited for: from here on it may wait too.
    frame.waiting = false
    clearTimeout(timer)
  }
}
