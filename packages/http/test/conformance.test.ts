import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import {
  authorizationFromRawHeaders,
  createBearerGate,
  toWebResponse,
  type BearerGate,
  type GateResponse,
} from '../src/index.js'
import {
  conformanceOptions,
  headerRecord,
  runConformance,
  sendOverHttp,
  type ConformanceAnswer,
  type ConformanceRequest,
} from './fixtures/conformance.js'

const ADMIN = Object.freeze(['admin'])

function scopesOf(path: string): readonly string[] | undefined {
  return path.startsWith('/admin') ? ADMIN : undefined
}

function isForm(type: string | null | undefined): boolean {
  return type?.split(';', 1)[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded'
}

// The node:http example of the README: the gate in front of a plain request listener.
function nodeListener(gate: BearerGate) {
  const send = (res: ServerResponse, answer: GateResponse): void => {
    res.writeHead(answer.status, answer.headers)
    res.end(answer.body ?? undefined)
  }
  const readBody = async (req: IncomingMessage): Promise<string> => {
    let text = ''
    for await (const chunk of req) text += String(chunk)
    return text
  }
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const request = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers }
    const metadata = gate.metadata?.respond(request)
    if (metadata !== null && metadata !== undefined) return send(res, metadata)
    const result = await gate.authenticate({
      ...request,
      authorization: authorizationFromRawHeaders(req.rawHeaders),
      scopes: scopesOf(request.url),
      body: isForm(req.headers['content-type']) ? await readBody(req) : undefined,
    })
    if (result.kind === 'refused') return send(res, result.response)
    if (result.kind !== 'accepted') throw new Error(`unexpected ${result.kind}`)
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(
      request.method === 'HEAD'
        ? undefined
        : JSON.stringify({ ok: true, client: result.accessToken.clientId }),
    )
  }
}

// The web-standard example of the README: Request in, Response out (Workers, Deno, Bun).
function webHandler(gate: BearerGate) {
  return async (request: Request): Promise<Response> => {
    const metadata = gate.metadata?.respond(request)
    if (metadata !== null && metadata !== undefined) return toWebResponse(metadata)
    const form = isForm(request.headers.get('content-type'))
    const result = await gate.authenticate({
      method: request.method,
      url: request.url,
      headers: request.headers,
      scopes: scopesOf(new URL(request.url).pathname),
      body: form ? await request.text() : undefined,
    })
    if (result.kind === 'refused') return toWebResponse(result.response)
    if (result.kind !== 'accepted') throw new Error(`unexpected ${result.kind}`)
    return Response.json({ ok: true, client: result.accessToken.clientId })
  }
}

t.test('conformance: the bare gate on node:http', async (t) => {
  const listener = nodeListener(createBearerGate(conformanceOptions()))
  const server = createServer((req, res) => {
    listener(req, res).catch((error: unknown) => {
      res.writeHead(500)
      res.end(String(error))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as AddressInfo
  await runConformance(t, (request) => sendOverHttp(port, request))
})

t.test('conformance: the bare gate on web-standard Request and Response', async (t) => {
  const handle = webHandler(createBearerGate(conformanceOptions()))
  const send = async (request: ConformanceRequest): Promise<ConformanceAnswer> => {
    const headers = new Headers()
    for (const [name, value] of request.headers) headers.append(name, value)
    const response = await handle(
      new Request(`http://127.0.0.1${request.path}`, {
        method: request.method,
        headers,
        ...(request.body === undefined ? {} : { body: request.body }),
      }),
    )
    const body = request.method === 'HEAD' ? '' : await response.text()
    return { status: response.status, headers: Object.fromEntries(response.headers), body }
  }
  await runConformance(t, send)
})

t.test('headerRecord turns repeated names into arrays', async (t) => {
  t.same(
    headerRecord({
      method: 'GET',
      path: '/',
      headers: [
        ['a', '1'],
        ['a', '2'],
        ['a', '3'],
        ['b', '4'],
      ],
    }),
    { a: ['1', '2', '3'], b: '4' },
  )
})
