import { invalidArgument } from './errors.js'

/**
 * The shared vocabulary every package uses to resolve its options once, into frozen settings.
 * Each reader names the option at fault in its `TypeError` (`ERR_INVALID_ARG_VALUE`).
 */

/** Whether `value` is a plain options object (not null, not an array, not a Promise). */
export function isOptionsObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { then?: unknown }).then !== 'function'
  )
}

/**
 * Reads an options object: `undefined` becomes `{}`, anything else must be a plain object (a
 * Promise gets a hint about a missing `await`).
 */
export function readOptionsObject(option: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {}
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof Reflect.get(value, 'then') === 'function'
  ) {
    throw invalidArgument(option, 'is a Promise: did you forget `await`?')
  }
  if (!isOptionsObject(value)) throw invalidArgument(option, 'must be an object')
  return value
}

/**
 * Refuses any key of `input` that is not in `known`. A misspelt option (`requiredScope`,
 * `jwks_uri`) would otherwise silently weaken protection, so the error names the nearest valid
 * option.
 *
 * @example
 * ```ts
 * rejectUnknownOptions('options', { requiredScope: ['admin'] }, ['requiredScopes', 'audience'])
 * // TypeError: options.requiredScope is not a known option: did you mean `requiredScopes`?
 * ```
 */
export function rejectUnknownOptions(
  path: string,
  input: Record<string, unknown>,
  known: Iterable<string>,
): void {
  const names = known instanceof Set ? (known as Set<string>) : new Set(known)
  for (const key of Object.keys(input)) {
    if (names.has(key)) continue
    const nearest = nearestName(key, names)
    throw invalidArgument(
      `${path}.${key}`,
      nearest === undefined
        ? `is not a known option; known options: ${[...names].join(', ')}`
        : `is not a known option: did you mean \`${nearest}\`?`,
    )
  }
}

/**
 * The known name closest to `name`, when one is close enough: by case-insensitive edit distance
 * (`jwksUrl` -> `jwksUri`, `timout` -> `timeout`), else by a long shared beginning, for another
 * word for the same thing (`introspectionEndpoint` -> `introspectionUrl`).
 *
 * @example
 * ```ts
 * nearestName('requiredScope', ['requiredScopes', 'audience']) // 'requiredScopes'
 * ```
 */
export function nearestName(name: string, known: Iterable<string>): string | undefined {
  const lower = normalize(name)
  let best: string | undefined
  let bestDistance = Infinity
  let byPrefix: string | undefined
  let bestPrefix = 0
  for (const candidate of known) {
    const other = normalize(candidate)
    const distance = editDistance(lower, other)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
    const prefix = commonPrefix(lower, other)
    // A shared stem of 6 characters or more, covering most of both names.
    if (
      prefix > bestPrefix &&
      prefix >= 6 &&
      prefix >= 0.6 * Math.max(lower.length, other.length)
    ) {
      byPrefix = candidate
      bestPrefix = prefix
    }
  }
  // Close enough: a few edits, relative to the length.
  if (best !== undefined && bestDistance <= Math.max(2, Math.floor(lower.length / 3))) return best
  return byPrefix
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '')
}

function commonPrefix(a: string, b: string): number {
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  return i
}

function editDistance(a: string, b: string): number {
  if (a === b) return 0
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      )
    }
    previous = current
  }
  return previous[b.length] as number
}

/** A finite number >= `min`, or `fallback` when `undefined`. */
export function readNumber(option: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalidArgument(option, `must be a finite number >= ${min}`)
  }
  return value
}

/** An integer >= `min`, or `fallback` when `undefined`. */
export function readInteger(option: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalidArgument(option, `must be an integer >= ${min}`)
  }
  return value
}

/** A boolean, or `fallback` when `undefined`. */
export function readBoolean(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw invalidArgument(option, 'must be true or false')
  return value
}

/** A function, or `undefined`. */
export function readFunction<T>(option: string, value: unknown): T | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw invalidArgument(option, 'must be a function')
  }
  return value as T | undefined
}

/** A non-empty string. */
export function readString(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw invalidArgument(option, 'must be a non-empty string')
  }
  return value
}

/** A non-empty string, or `undefined`. */
export function readOptionalString(option: string, value: unknown): string | undefined {
  return value === undefined ? undefined : readString(option, value)
}
