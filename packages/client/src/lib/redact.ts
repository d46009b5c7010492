import { inspect } from 'node:util'

const REDACTED = '[redacted]'

/**
 * Makes `JSON.stringify` and `util.inspect` of an object show `[redacted]` for its secret fields,
 * so that a host or a CLI that prints a step's result (a token set, a client, a registration
 * response) never writes a token or secret to a log. The fields stay readable as properties; the
 * two methods are non-enumerable and do not show up in spreads or `Object.keys`.
 */
export function redacted<T extends object>(value: T, secrets: readonly string[]): T {
  const safe = (): Record<string, unknown> => {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) }
    for (const field of secrets) if (copy[field] !== undefined) copy[field] = REDACTED
    return copy
  }
  Object.defineProperty(value, 'toJSON', { value: safe, enumerable: false })
  Object.defineProperty(value, inspect.custom, {
    value: (depth: number, options: object) => inspect(safe(), { ...options, depth }),
    enumerable: false,
  })
  return value
}
