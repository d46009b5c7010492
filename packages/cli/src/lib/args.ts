import { parseArgs, type ParseArgsConfig } from 'node:util'
import { timerDelay } from '@bearerkit/core'
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
    // With a fixed configuration, parseArgs only throws for the command line it is given
    // (ERR_PARSE_ARGS_*); its messages name the option, never its value. An unknown option is
    // named as typed, though, and an argument that starts with "--" is one: an opaque token
    // pasted as the argument would be echoed in full. It is named only when it looks like one.
    if ((error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const name = /^Unknown option '([^']*)'/.exec((error as Error).message)?.[1] ?? ''
      const shown = /^--?[a-z][a-z0-9-]{0,29}$/.test(name) ? `'${name}'` : '(not shown)'
      throw new UsageError(
        `Unknown option ${shown}; an argument that starts with '-' (a token) goes after '--'`,
      )
    }
    throw new UsageError((error as Error).message, { cause: error })
  }
}

/**
 * A positive whole number of milliseconds from a flag, at most what a timer holds (as core does
 * for its own deadlines): a longer one fires after 1 ms in Node, and `AbortSignal.timeout` throws
 * above 2^32 - 1.
 */
export function readTimeout(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError('--timeout must be a positive whole number of milliseconds')
  }
  return timerDelay(n)
}
