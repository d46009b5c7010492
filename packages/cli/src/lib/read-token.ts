import type { CliIo } from '../io.js'
import { UsageError } from './usage-error.js'

// A token is a few KiB at most; a bounded read keeps `cat big-file | bearerkit decode` harmless.
const MAX_INPUT = 64 * 1024

/**
 * The token from the argument, or from stdin when the argument is `-` or absent and stdin is not
 * a terminal. Reading from stdin keeps the token out of shell history and `ps`.
 */
export async function readToken(argument: string | undefined, io: CliIo): Promise<string> {
  let text: string
  if (argument !== undefined && argument !== '-') {
    text = argument
  } else if (argument === '-' || io.stdin.isTTY !== true) {
    text = await readAll(io)
  } else {
    throw new UsageError('no token: pass it as an argument, or pipe it on stdin (recommended)')
  }
  const token = text.trim()
  if (token === '') throw new UsageError('no token: the input is empty')
  // Accept what people paste: "Bearer <token>" copied from a request.
  const bare = /^bearer\s+/i.test(token) ? token.replace(/^bearer\s+/i, '') : token
  if (/\s/.test(bare))
    throw new UsageError('the input holds more than one token (whitespace inside)')
  return bare
}

async function readAll(io: CliIo): Promise<string> {
  const decoder = new TextDecoder()
  let text = ''
  for await (const chunk of io.stdin) {
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true })
    if (text.length > MAX_INPUT) throw new UsageError(`the input is larger than ${MAX_INPUT} bytes`)
  }
  return text + decoder.decode()
}
