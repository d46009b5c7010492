import { checkCommand, CHECK_HELP } from './check.js'
import { decodeCommand, DECODE_HELP } from './decode.js'
import { EXIT, type CliIo } from './io.js'
import { safeText } from './lib/safe-text.js'
import { ConfigError, UsageError } from './lib/usage-error.js'
import { serveCommand, SERVE_HELP } from './serve.js'
import { verifyCommand, VERIFY_HELP } from './verify.js'

export const MAIN_HELP = `Usage: bearerkit <command> [options]

Commands:
  check <resource-url>   walk through what an MCP client does and judge each step (RFC 6750,
                         RFC 9728, RFC 8414, RFC 8707)
  decode [token | -]     show a JWT's header and claims, locally, with warnings
  verify [token | -]     verify a token with a bearerkit verifier (flags or BEARERKIT_* env)
  serve                  run the forward-auth server for nginx, Traefik or Envoy

Run "bearerkit <command> --help" for its options and examples.

Examples:
  bearerkit check https://mcp.example.com/mcp
  pbpaste | bearerkit decode
  printenv TOKEN | bearerkit verify --issuer https://login.example.com/ --audience https://mcp.example.com/mcp

Options:
  -h, --help     show this help
  -v, --version  show the version
`

const COMMANDS: Readonly<
  Record<string, [(argv: readonly string[], io: CliIo) => Promise<number>, string]>
> = {
  check: [checkCommand, CHECK_HELP],
  decode: [decodeCommand, DECODE_HELP],
  verify: [verifyCommand, VERIFY_HELP],
  serve: [serveCommand, SERVE_HELP],
}

const VERSION = '0.1.0'

/**
 * Runs `bearerkit` with its arguments (without `node` and the script) and returns the exit code.
 * Every output goes through `io`, so a test runs the CLI in-process.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), {
 *   stdout: process.stdout, stderr: process.stderr, stdin: process.stdin,
 *   env: process.env, isTTY: process.stdout.isTTY === true,
 * })
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    io.stdout.write(MAIN_HELP)
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  if (name === '-v' || name === '--version') {
    io.stdout.write(`${VERSION}\n`)
    return EXIT.ok
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
  if (command === undefined) {
    // Echo the name only when it looks like one: `bearerkit <token>` must not print the token.
    const shown = /^[a-z][a-z-]{0,19}$/.test(name) ? `"${name}"` : '(not shown)'
    io.stderr.write(`bearerkit: unknown command ${shown}\n\n${MAIN_HELP}`)
    return EXIT.usage
  }
  const [run, help] = command
  try {
    return await run(rest, io)
  } catch (error) {
    // Messages may quote what the user typed or what a server answered: shown inert.
    if (error instanceof UsageError) {
      io.stderr.write(
        `bearerkit ${name}: ${error.message.split('\n').map(safeText).join('\n')}\n\n${help.split('\n')[0] ?? ''}\n`,
      )
      return EXIT.usage
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`bearerkit ${name}: configuration error: ${safeText(error.message)}\n`)
      return EXIT.config
    }
    io.stderr.write(
      `bearerkit ${name}: ${safeText(error instanceof Error ? error.message : String(error))}\n`,
    )
    return EXIT.failed
  }
}
