import {
  invalidArgument,
  readFunction,
  readInteger,
  readNumber,
  readOptionsObject,
  rejectUnknownOptions,
} from '@bearerkit/core'
import type { RequestOptions } from '../request-options.js'

const REQUEST_OPTIONS = ['timeout', 'maxBytes', 'fetch', 'signal']

/**
 * Reads an options object of a step: the shared {@link RequestOptions}, checked here, and the
 * step's own options (named in `own`) returned for the step to check. An unknown option is a
 * `TypeError` naming the nearest valid one.
 */
export function readRequestOptions(
  path: string,
  value: unknown,
  own: readonly string[],
): { request: RequestOptions; rest: Record<string, unknown> } {
  const input = readOptionsObject(path, value)
  rejectUnknownOptions(path, input, [...REQUEST_OPTIONS, ...own])
  const signal = input.signal
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgument(`${path}.signal`, 'must be an AbortSignal')
  }
  const fetchFn = readFunction<typeof fetch>(`${path}.fetch`, input.fetch)
  const request: RequestOptions = {
    ...(input.timeout === undefined
      ? {}
      : { timeout: readNumber(`${path}.timeout`, input.timeout, 0, 1) }),
    ...(input.maxBytes === undefined
      ? {}
      : { maxBytes: readInteger(`${path}.maxBytes`, input.maxBytes, 0, 1) }),
    ...(fetchFn === undefined ? {} : { fetch: fetchFn }),
    ...(signal === undefined ? {} : { signal }),
  }
  const rest: Record<string, unknown> = {}
  for (const key of own) if (input[key] !== undefined) rest[key] = input[key]
  return { request, rest }
}

/** Just the shared request options of a larger options object (already checked by its reader). */
export function pickRequestOptions(options: RequestOptions): RequestOptions {
  return {
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  }
}
