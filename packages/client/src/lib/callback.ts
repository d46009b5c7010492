import { OAuthClientError } from '../errors.js'

/**
 * Calls a host callback under a deadline. A callback is an extension point: it may throw, never
 * settle, or answer the wrong type. Each of those is `ERR_CALLBACK_FAILED` (with the callback's
 * error as `cause`), so the step fails closed and nothing waits forever.
 */
export async function callHost<T>(
  name: string,
  timeout: number,
  call: () => T | Promise<T>,
  check: (value: unknown) => value is T,
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
      timeout,
    )
  })
  try {
    const value: unknown = await Promise.race([Promise.resolve().then(call), deadline])
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
    clearTimeout(timer)
  }
}
