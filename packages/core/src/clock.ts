import { VerifierUnavailableError } from './errors.js'

/**
 * Reads `now()` for a time check, or throws `VerifierUnavailableError` (503, reason
 * `clock_error`) when it gives no finite number. Every comparison with NaN is false, so an `exp`,
 * `nbf` or `iat` check run on such a reading would pass: the thing cannot be judged, and is never
 * accepted for it. `subject` names it in the message ("the access token").
 *
 * @example
 * ```ts
 * const at = readClock(options.now ?? Date.now, 'the access token') / 1000
 * ```
 */
export function readClock(now: () => number, subject: string, retryAfter?: number): number {
  const at = now()
  if (typeof at !== 'number' || !Number.isFinite(at)) {
    throw new VerifierUnavailableError(`The clock gave no time to check ${subject} with`, {
      reason: 'clock_error',
      ...(retryAfter === undefined ? {} : { retryAfter }),
    })
  }
  return at
}
