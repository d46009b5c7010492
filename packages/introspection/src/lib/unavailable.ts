import { VerifierUnavailableError, isVerifierUnavailable } from '@bearerkit/core'

/** Retry hint, in seconds, when the upstream gave none. */
export const DEFAULT_RETRY_AFTER = 5

/** A `VerifierUnavailableError` with a stable reason and a retry hint. */
export function unavailable(
  message: string,
  reason: string,
  options: { cause?: unknown; retryAfter?: number | undefined } = {},
): VerifierUnavailableError {
  return new VerifierUnavailableError(message, {
    reason,
    retryAfter: options.retryAfter ?? DEFAULT_RETRY_AFTER,
    ...(options.cause === undefined ? {} : { cause: options.cause }),
  })
}

/**
 * Makes sure whatever went wrong leaves as a `VerifierUnavailableError` carrying a retry hint:
 * errors from core's HTTP helpers get the default hint, anything else (a dependency's error) is
 * wrapped and kept as the cause.
 */
export function asUnavailable(error: unknown, what: string): VerifierUnavailableError {
  if (isVerifierUnavailable(error)) {
    if (error.retryAfter !== undefined) return error
    return new VerifierUnavailableError(error.message, {
      reason: error.reason,
      retryAfter: DEFAULT_RETRY_AFTER,
      cause: error,
    })
  }
  return unavailable(`${what}: the request could not be completed`, 'invalid_response', {
    cause: error,
  })
}
