import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError } from './usage-error.js'

type Options = NonNullable<ParseArgsConfig['options']>

/**
 * `parseArgs` in strict mode, its errors turned into {@link UsageError}s that name the option
 * (never echoing a value, which could be a secret).
 */
export function parse<T extends Options>(
  argv: readonly string[],
  options: T,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true })
  } catch (error) {
    const code = (error as { code?: unknown }).code
    const message = error instanceof Error ? error.message : String(error)
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(message)
    }
    throw error
  }
}

/** A positive whole number of milliseconds from a flag. */
export function readTimeout(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError('--timeout must be a positive whole number of milliseconds')
  }
  return n
}
