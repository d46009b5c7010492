#!/usr/bin/env node
import { runCli } from './main.js'

const argv = process.argv.slice(2)
const stop = new AbortController()
// Only the long-running command takes over the signals; every other one keeps Node's default
// (Ctrl-C ends it at once). A second signal while stopping does not wait.
if (argv[0] === 'serve') {
  const onSignal = (): void => {
    if (stop.signal.aborted) process.exit(130)
    stop.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

process.exitCode = await runCli(argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  isTTY: process.stdout.isTTY === true,
  signal: stop.signal,
})
