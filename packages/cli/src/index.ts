export { runCli, MAIN_HELP } from './main.js'
export { EXIT, type CliInput, type CliIo, type CliOutput } from './io.js'
export {
  CHECK_HELP,
  checkCommand,
  type CheckReport,
  type CheckResult,
  type CheckStatus,
} from './check.js'
export {
  DECODE_HELP,
  decodeCommand,
  decodeToken,
  type DecodeWarning,
  type DecodedToken,
} from './decode.js'
export { VERIFY_HELP, verifyCommand } from './verify.js'
export { SERVE_HELP, serveCommand } from './serve.js'
