// One adapter benchmark server, run in its own process by adapters.ts (never imported).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createCachedVerifier, type TokenVerifier } from '@bearerkit/core'
import { bearerAuth as expressBearerAuth } from '@bearerkit/express'
import { bearerAuth as honoBearerAuth } from '@bearerkit/hono'
import { createForwardAuthServer } from '@bearerkit/http'
import { createJwtVerifier } from '@bearerkit/jwt'
import { getRequestListener } from '@hono/node-server'
import express from 'express'
import { Hono } from 'hono'
import type { FromAdapterServer, ToAdapterServer } from './lib/adapter-messages.js'

type Start = Extract<ToAdapterServer, { type: 'start' }>

function send(message: FromAdapterServer): void {
  process.send?.(message)
}

// bearerkit's cached JWT verifier and a reused token: what is left is the adapter's own cost
// (header parsing, the gate, the framework glue). Verification itself is measured by micro/http.
function verifierFor(start: Start): TokenVerifier {
  const jwt = createJwtVerifier({
    issuer: start.issuer,
    audience: start.audience,
    key: start.publicPem,
    algorithms: ['RS256'],
  })
  return createCachedVerifier(jwt, { max: 1000 })
}

function build(start: Start): Server {
  const options = {
    verifier: verifierFor(start),
    resource: { url: start.audience, authorizationServers: [start.issuer] },
  }
  switch (start.kind) {
    case 'express-bare':
    case 'express-bearer': {
      const app = express()
      if (start.kind === 'express-bearer') app.use(expressBearerAuth(options))
      app.get('/mcp', (_req, res) => {
        res.json({ ok: true })
      })
      return createServer(app)
    }
    case 'hono-bare':
    case 'hono-bearer': {
      const app = new Hono()
      if (start.kind === 'hono-bearer') app.use(honoBearerAuth(options))
      app.get('/mcp', (c) => c.json({ ok: true }))
      const listener = getRequestListener(app.fetch)
      return createServer((req, res) => void listener(req, res))
    }
    case 'node-bare':
      return createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{"ok":true}')
      })
    case 'forward-auth':
      return createForwardAuthServer(options)
  }
}

let running: Server | undefined

process.on('message', (message: ToAdapterServer) => {
  void (async () => {
    switch (message.type) {
      case 'start': {
        const server = build(message)
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
        running = server
        send({ type: 'ready', port: (server.address() as AddressInfo).port })
        break
      }
      case 'cpu': {
        const usage = process.cpuUsage()
        send({ type: 'cpu', micros: usage.user + usage.system })
        break
      }
      case 'stop':
        running?.closeAllConnections()
        await new Promise<void>((resolve) => (running ? running.close(() => resolve()) : resolve()))
        process.disconnect()
        break
    }
  })().catch((error: unknown) => {
    send({ type: 'error', message: error instanceof Error ? error.message : String(error) })
  })
})
