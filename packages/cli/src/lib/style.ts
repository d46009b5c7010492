import { styleText } from 'node:util'
import type { CliIo } from '../io.js'

type Format = Parameters<typeof styleText>[0]

/** A colouring function that is the identity when colours are off. */
export type Paint = (format: Format, text: string) => string

// https://no-color.org: any non-empty NO_COLOR turns colours off; so does a stdout that is not a
// terminal (a pipe, a file, CI logs), where escape codes would be noise.
export function painter(io: Pick<CliIo, 'env' | 'isTTY'>): Paint {
  const noColor = io.env.NO_COLOR
  if (!io.isTTY || (noColor !== undefined && noColor !== '')) return (_format, text) => text
  // validateStream off: the decision above is ours (io.isTTY is the stream we write to, which in
  // a test is not process.stdout).
  return (format, text) => styleText(format, text, { validateStream: false })
}
