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
 * A dependency's error as a `cause` that quotes nothing it was given: its name, `code` and
 * message (jose's are fixed texts), without its other members. jose's claim errors carry the
 * whole payload, here the answer's members, which a server could fill with anything (a token
 * included), and loggers print every member of a cause.
 */
export function bareCause(error: unknown): Error {
  const source = error as { name?: unknown; code?: unknown; message?: unknown } | null
  const bare = new Error(typeof source?.message === 'string' ? source.message : 'Unknown error')
  if (typeof source?.name === 'string') bare.name = source.name
  if (typeof source?.code === 'string') Object.assign(bare, { code: source.code })
  return bare
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
