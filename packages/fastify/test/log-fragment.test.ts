import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { redactTokenParams } from '@bearerkit/http'
import Fastify from 'fastify'
import t from 'tap'
import { bearerAuth, tokenSafeLogging } from '../src/index.js'

// Red-team finding "tokenSafeLogging misses tokens after a raw # in the request target": the gate
// reads the query as everything after the first `?` (URLSearchParams reads past `#`) and refuses
// `/mcp?a=1#&access_token=...`, but the redactor stopped at `#`, so Fastify's request log line
// carried the token. A request target has no fragment (RFC 9112 §3.2): `#` is just a character.

const SECRET = 'eyJSECRETTOKENVALUE123'

/** Sends one raw request line over TCP (no client library normalises the target) */
function send(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
    })
    let answer = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => (answer += chunk))
    socket.on('error', reject)
    socket.on('close', () => resolve(answer.split('\r\n', 1)[0] ?? ''))
  })
}

t.test('tokenSafeLogging misses tokens after a raw # in the request target', async (t) => {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(line)
      callback()
    },
  })
  const app = Fastify({ logger: { level: 'trace', stream, ...tokenSafeLogging } })
  t.teardown(() => app.close())
  await app.register(bearerAuth, { verifier: { verifyToken: async () => null }, audience: null })
  app.get('/mcp', async () => 'ok')
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  for (const [target, logged] of [
    [`/mcp?access_token=${SECRET}`, '/mcp?access_token=[redacted]'],
    [`/mcp?a=1#&access_token=${SECRET}`, '/mcp?a=1#&access_token=[redacted]'],
    [`/mcp?a#=1&access_token=${SECRET}`, '/mcp?a#=1&access_token=[redacted]'],
    [`/mcp?x=1&access_token=${SECRET}#tail`, '/mcp?x=1&access_token=[redacted]'],
  ] as const) {
    lines.length = 0
    t.equal(await send(port, target), 'HTTP/1.1 400 Bad Request', target)
    t.same(
      lines.filter((line) => line.includes(SECRET)),
      [],
      'no log line carries the token',
    )
    const urls = lines
      .map((line) => (JSON.parse(line) as { req?: { url?: string } }).req?.url)
      .filter((url) => url !== undefined)
    t.same(urls, [logged], 'the request line is logged, redacted')
  }
})

t.test('redactTokenParams reads the query as the gate does: past a #', async (t) => {
  t.equal(redactTokenParams('/a?b=1#&token=x'), '/a?b=1#&token=[redacted]')
  t.equal(redactTokenParams('/a?access_token=x#y&b=1'), '/a?access_token=[redacted]&b=1')
  t.equal(redactTokenParams('/a#?access_token=x'), '/a#?access_token=[redacted]')
  t.equal(redactTokenParams('/a?b=1#frag'), '/a?b=1#frag')
})
