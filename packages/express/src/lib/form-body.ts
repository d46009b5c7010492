import type { IncomingMessage } from 'node:http'

/** What reading a form body gave: its text, or the reason it could not be read. */
export type FormBody =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'too_large' }
  | { readonly kind: 'failed'; readonly error: unknown }

/** True for `application/x-www-form-urlencoded` (parameters and case ignored). */
export function isFormType(type: string | undefined): boolean {
  return type?.split(';', 1)[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded'
}

/** True when the request announces a body (RFC 9110 §6.3: Content-Length or Transfer-Encoding). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * Reads a form body nobody has parsed yet, up to `limit` bytes. Past the limit the rest of the
 * body is drained and dropped, so the 413 still reaches the client. It marks the request as read
 * the way body-parser 1 (`_body`) and 2 (a finished stream) both recognise, so a parser mounted
 * later skips it instead of waiting for data that will never come.
 */
export function readFormBody(req: IncomingMessage, limit: number): Promise<FormBody> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'])
    const chunks: Buffer[] = []
    let size = 0
    let over = Number.isFinite(declared) && declared > limit
    const finish = (body: FormBody): void => {
      ;(req as { _body?: boolean })._body = true
      resolve(body)
    }
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) over = true
      if (!over) chunks.push(chunk)
    })
    req.on('end', () => {
      finish(
        over
          ? { kind: 'too_large' }
          : { kind: 'text', text: Buffer.concat(chunks).toString('utf8') },
      )
    })
    req.on('error', (error) => finish({ kind: 'failed', error }))
  })
}
