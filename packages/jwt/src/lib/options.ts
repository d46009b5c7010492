import { invalidArgument } from '@bearerkit/core'
import { SUPPORTED_ALGORITHMS } from '../algorithms.js'
import { isSupportedAlgorithm } from './algorithm-table.js'

// The readers of this package's own option types; the general ones are core's (options.ts).

/**
 * The algorithm allow-list: a non-empty array of supported algorithms. `none` is refused in any
 * spelling (RFC 8725 §3.1), and so is anything unknown, rather than silently ignored.
 */
export function readAlgorithms(
  option: string,
  value: unknown,
  fallback: readonly string[],
): readonly string[] {
  if (value === undefined) return fallback
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidArgument(option, 'must be a non-empty array of algorithm names')
  }
  for (const alg of value as unknown[]) {
    if (typeof alg === 'string' && alg.toLowerCase() === 'none') {
      throw invalidArgument(option, 'must not contain none: unsecured tokens are never accepted')
    }
    if (!isSupportedAlgorithm(alg)) {
      throw invalidArgument(
        option,
        `contains ${JSON.stringify(alg)}; supported: ${SUPPORTED_ALGORITHMS.join(', ')}`,
      )
    }
  }
  return Object.freeze([...new Set(value as string[])])
}

/** A `typ` allow-list: a non-empty array of non-empty strings, or `null` (no check). */
export function readTypes(option: string, value: unknown): readonly string[] | null {
  if (value === null) return null
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((t) => typeof t === 'string' && t !== '')
  ) {
    throw invalidArgument(
      option,
      'must be a non-empty array of typ values, or null to skip the check',
    )
  }
  return value as string[]
}
