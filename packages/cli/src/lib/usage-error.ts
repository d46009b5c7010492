/** A command line mistake: reported with the command's usage line, exit 64. */
export class UsageError extends Error {
  readonly code = 'ERR_CLI_USAGE'
}

/** A verifier configuration mistake (flags or environment): exit 78. */
export class ConfigError extends Error {
  readonly code = 'ERR_CLI_CONFIG'
}
