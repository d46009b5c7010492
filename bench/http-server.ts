// One HTTP benchmark server, run in its own process by http.ts (never imported).
import { createPublicKey } from 'node:crypto'
import { bearerAuth } from '@bearerkit/fastify'
import { createIntrospectionVerifier } from '@bearerkit/introspection'
import { createLocalAuthorizationServer, type LocalAuthorizationServer } from '@bearerkit/testing'
import fastifyJwt from '@fastify/jwt'
import Fastify, { type FastifyInstance } from 'fastify'
import type { FromServer, ToServer } from './lib/messages.js'
import { createRawVerify } from './lib/raw-jwt.js'

type Start = Extract<ToServer, { type: 'start' }>

function send(message: FromServer): void {
  process.send?.(message)
}

// Every scenario answers the same small JSON body from the same route.
function addRoute(app: FastifyInstance): void {
  app.get('/mcp', () => ({ ok: true }))
}

async function build(
  start: Start,
): Promise<{ app: FastifyInstance; token?: string; close?: () => Promise<void> }> {
  const app = Fastify({ logger: false })
  const resource = { url: start.audience, authorizationServers: [start.issuer] }
  switch (start.kind) {
    case 'bare':
      addRoute(app)
      return { app }
    case 'raw-hook': {
      // The bound for new tokens: the same hand-written node:crypto check as the micro bound.
      const raw = createRawVerify('RS256', createPublicKey(start.publicPem))
      app.decorateRequest('claims', null)
      app.addHook('onRequest', async (request, reply) => {
        const header = request.headers.authorization
        const claims =
          header !== undefined && header.startsWith('Bearer ') ? raw(header.slice(7)) : null
        if (claims === null) return reply.code(401).send({ error: 'invalid_token' })
        ;(request as unknown as { claims: unknown }).claims = claims
        return undefined
      })
      addRoute(app)
      return { app }
    }
    case 'fastify-jwt':
    case 'fastify-jwt-cached': {
      await app.register(fastifyJwt, {
        secret: { public: start.publicPem },
        verify: {
          algorithms: ['RS256'],
          allowedIss: start.issuer,
          allowedAud: start.audience,
          ...(start.kind === 'fastify-jwt-cached' ? { cache: start.cacheMax } : {}),
        },
      })
      app.addHook('onRequest', async (request) => {
        await request.jwtVerify()
      })
      addRoute(app)
      return { app }
    }
    case 'plugin-jwt':
    case 'plugin-jwt-cached':
    case 'plugin-jwt-cache-miss': {
      // The README's plugin snippet: a config object, so the verifier is built by core's
      // createVerifier, with its verified-token cache by default.
      const cache =
        start.kind === 'plugin-jwt'
          ? { cache: false as const }
          : start.kind === 'plugin-jwt-cache-miss'
            ? { cache: { max: start.cacheMax } }
            : {}
      await app.register(bearerAuth, {
        verifier: {
          type: 'jwt',
          issuer: start.issuer,
          audience: start.audience,
          key: start.publicPem,
          algorithms: ['RS256'],
          ...cache,
        },
        resource,
      })
      addRoute(app)
      return { app }
    }
    case 'plugin-introspection': {
      const server: LocalAuthorizationServer = await createLocalAuthorizationServer({
        tokenFormat: 'opaque',
      })
      const token = await server.issueToken({ audience: start.audience, scopes: ['mcp:tools'] })
      const verifier = createIntrospectionVerifier({
        introspectionUrl: server.introspectionEndpoint,
        issuer: server.issuer,
        audience: start.audience,
        clientId: 'test-client',
        clientSecret: 'test-secret',
      })
      await app.register(bearerAuth, { verifier, resource })
      addRoute(app)
      return {
        app,
        token,
        close: async () => {
          await verifier.close()
          await server.close()
        },
      }
    }
  }
}

let running: { app: FastifyInstance; close?: () => Promise<void> } | undefined

process.on('message', (message: ToServer) => {
  void (async () => {
    switch (message.type) {
      case 'start': {
        const built = await build(message)
        await built.app.listen({ host: '127.0.0.1', port: 0 })
        running = built
        const address = built.app.server.address()
        const port = typeof address === 'object' && address !== null ? address.port : 0
        send({ type: 'ready', port, ...(built.token === undefined ? {} : { token: built.token }) })
        break
      }
      case 'cpu': {
        const usage = process.cpuUsage()
        send({ type: 'cpu', micros: usage.user + usage.system })
        break
      }
      case 'stop':
        await running?.app.close()
        await running?.close?.()
        process.disconnect()
        break
    }
  })().catch((error: unknown) => {
    send({ type: 'error', message: error instanceof Error ? error.message : String(error) })
  })
})
