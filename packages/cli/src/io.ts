/** Where a command writes; anything with `write(text)` will do (a stream, a test buffer). */
export interface CliOutput {
  write(text: string): unknown
}

/** Where a command reads a token from: `process.stdin`, or any async iterable in tests. */
export type CliInput = AsyncIterable<string | Uint8Array> & { readonly isTTY?: boolean }

/**
 * Everything a command touches outside its arguments, so that a test can run it in-process: the
 * streams, the environment, whether stdout is a terminal (colours, progress), and the clock.
 *
 * @example
 * ```ts
 * const code = await runCli(['decode', '-'], {
 *   stdout: process.stdout, stderr: process.stderr, stdin: process.stdin,
 *   env: process.env, isTTY: process.stdout.isTTY === true,
 * })
 * ```
 */
export interface CliIo {
  stdout: CliOutput
  stderr: CliOutput
  stdin: CliInput
  env: Readonly<Record<string, string | undefined>>
  /** Whether stdout is a terminal: colours and progress lines only then. */
  isTTY: boolean
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
  /** Stops a long-running command (`serve`); the binary aborts it on SIGINT and SIGTERM. */
  signal?: AbortSignal
}

/** Exit codes of every command (sysexits.h for usage and configuration errors). */
export const EXIT = Object.freeze({
  /** Success: every check passed, the token decoded, the token is valid. */
  ok: 0,
  /** A check failed, the token is invalid or could not be decoded. */
  failed: 1,
  /** `verify`: validity could not be decided right now (the verifier is unavailable). */
  unavailable: 2,
  /** Bad command line: unknown option or command, missing argument (EX_USAGE). */
  usage: 64,
  /** Bad verifier configuration, from flags or the environment (EX_CONFIG). */
  config: 78,
})
