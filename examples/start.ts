/**
 * `npm start`: a protected resource server (Fastify + `@bearerkit/fastify`) on loopback.
 *
 * With no `BEARERKIT_VERIFIER` in the environment it also starts a local authorization server
 * (`@bearerkit/testing`), verifies JWT access tokens against its JWKS (`@bearerkit/jwt`), and prints
 * a token with two curl lines: one answered 200, one answered 403 `insufficient_scope`.
 *
 * With `BEARERKIT_VERIFIER` and the other `BEARERKIT_*` variables (see core's
 * `verifierConfigFromEnv`) it verifies tokens from that authorization server instead. Optional:
 * `BEARERKIT_RESOURCE` (this server's resource identifier, served as RFC 9728 metadata) and `PORT`
 * (default 3000; 0 picks a free port).
 *
 * Ctrl-C (SIGINT) or SIGTERM closes everything and exits with status 0.
 */
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import {
  createVerifier,
  verifierConfigFromEnv,
  type TokenVerifier,
  type VerifierConfig,
} from '@bearerkit/core'
import { bearerAuth, tokenSafeLogging, type ProtectedResourceOptions } from '@bearerkit/fastify'
import { createJwtVerifier } from '@bearerkit/jwt'
import { createLocalAuthorizationServer, type LocalAuthorizationServer } from '@bearerkit/testing'
import Fastify, { type FastifyInstance } from 'fastify'

const READ = 'notes:read'
const WRITE = 'notes:write'
const DEMO_CLIENT = { clientId: 'demo-client', clientSecret: 'demo-secret' }

const notes = [{ id: 1, text: 'Tokens are verified, never logged.' }]

/** The port to listen on: PORT, else 3000, else (3000 taken and PORT unset) any free port. */
async function choosePort(): Promise<number> {
  const given = process.env.PORT
  if (given !== undefined && given !== '') {
    const port = Number(given)
    if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
      throw new TypeError('PORT must be an integer from 0 to 65535')
    }
    return port === 0 ? freePort() : port
  }
  return (await isFree(3000)) ? 3000 : freePort()
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })
}

// The resource identifier contains the port and the plugin needs it at registration, before
// Fastify listens: take a free port from the system first.
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })
}

function buildApp(
  verifier: TokenVerifier | VerifierConfig,
  resource: ProtectedResourceOptions | undefined,
): FastifyInstance {
  // Request logs at info; tokenSafeLogging keeps a token sent in a query string out of them.
  const app = Fastify({ logger: { level: 'info', ...tokenSafeLogging } })
  void app.register(bearerAuth, {
    verifier,
    ...(resource === undefined ? {} : { resource }),
  })
  // Routes go in a plugin registered after bearerAuth, so its hooks see them.
  void app.register((routes, _options, done) => {
    routes.get('/', { config: { bearer: false } }, () => ({
      routes: {
        'GET /notes': `needs ${READ}`,
        'POST /notes': `needs ${WRITE}`,
      },
    }))
    routes.get('/notes', { config: { bearer: { scopes: [READ] } } }, (request) => ({
      notes,
      client: request.accessToken?.clientId,
      subject: request.accessToken?.subject ?? null,
      scopes: request.accessToken?.scopes,
    }))
    routes.post('/notes', { config: { bearer: { scopes: [WRITE] } } }, async (_request, reply) => {
      const note = { id: notes.length + 1, text: 'A new note.' }
      notes.push(note)
      return reply.code(201).send(note)
    })
    done()
  })
  return app
}

async function main(): Promise<void> {
  const port = await choosePort()
  const origin = `http://127.0.0.1:${port}`
  const fromEnv = verifierConfigFromEnv()
  let as: LocalAuthorizationServer | undefined
  let verifier: TokenVerifier | VerifierConfig
  let resource: ProtectedResourceOptions | undefined
  let token: string | undefined

  if (fromEnv === null) {
    // The embedded default: a local authorization server, and tokens bound to this server.
    // RFC 8707: the resource identifier is this server's URL; tokens are issued for it alone.
    const resourceUrl = origin
    as = await createLocalAuthorizationServer({
      clients: [{ ...DEMO_CLIENT, scopes: [READ, WRITE], defaultScopes: [READ] }],
      resources: [resourceUrl],
      defaultResource: resourceUrl,
      scopesSupported: [READ, WRITE],
      // Its warning (for tests only) goes to stderr; the demo banner below says it instead.
      quiet: true,
    })
    resource = {
      url: resourceUrl,
      authorizationServers: [as.issuer],
      scopesSupported: [READ, WRITE],
    }
    verifier = createJwtVerifier({ issuer: as.issuer, jwksUri: as.jwksUri, audience: resourceUrl })
    token = await as.issueToken({
      clientId: DEMO_CLIENT.clientId,
      subject: 'demo-user',
      scopes: [READ],
    })
  } else {
    verifier = await createVerifier(fromEnv)
    const resourceUrl = process.env.BEARERKIT_RESOURCE
    const configured = 'issuer' in fromEnv ? fromEnv.issuer : undefined
    const issuer = typeof configured === 'string' ? configured : undefined
    if (resourceUrl !== undefined && resourceUrl !== '' && issuer !== undefined) {
      resource = { url: resourceUrl, authorizationServers: [issuer] }
    }
  }

  const app = buildApp(verifier, resource)
  try {
    await app.listen({ host: '127.0.0.1', port })
  } catch (error) {
    await as?.close()
    throw error
  }

  let stopping = false
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second Ctrl-C while closing: stop waiting.
      process.exit(130)
    }
    stopping = true
    process.stdout.write(`\n${signal}: stopping ...\n`)
    // Whatever still holds the event loop after this long is not worth waiting for.
    setTimeout(() => process.exit(1), 5000).unref()
    void Promise.allSettled([app.close(), as?.close()]).then(() => {
      const closable = verifier as Partial<{ close: () => void }>
      if (typeof closable.close === 'function') closable.close()
      process.stdout.write('stopped\n')
      process.exitCode = 0
    })
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)

  const lines: string[] = []
  if (as !== undefined && token !== undefined && resource !== undefined) {
    const bearer = `-H 'Authorization: Bearer ${token}'`
    lines.push(
      'bearerkit demo',
      `  authorization server  ${as.issuer}  (for this demo only; client ${DEMO_CLIENT.clientId} / ${DEMO_CLIENT.clientSecret})`,
      `  resource server       ${origin}  (tokens must be issued for ${resource.url})`,
      '',
      `Access token (subject demo-user, scope ${READ}, valid for one hour):`,
      token,
      '',
      `GET /notes needs ${READ}: 200`,
      `curl -s ${bearer} ${origin}/notes`,
      '',
      `POST /notes needs ${WRITE}: 403 insufficient_scope, the step-up challenge is in WWW-Authenticate`,
      `curl -i -X POST ${bearer} ${origin}/notes`,
      '',
      'Ask the authorization server for another token:',
      `curl -s -u ${DEMO_CLIENT.clientId}:${DEMO_CLIENT.clientSecret} -d grant_type=client_credentials ` +
        `-d 'scope=${READ} ${WRITE}' -d resource=${resource.url} ${as.tokenEndpoint}`,
    )
  } else {
    lines.push(
      `bearerkit resource server on ${origin}, verifier ${fromEnv?.type ?? ''} from BEARERKIT_* variables`,
      '',
      `With a token from your authorization server in $TOKEN (GET /notes needs ${READ}):`,
      `curl -s -H "Authorization: Bearer $TOKEN" ${origin}/notes`,
      '',
      `POST /notes needs ${WRITE}:`,
      `curl -i -X POST -H "Authorization: Bearer $TOKEN" ${origin}/notes`,
    )
  }
  lines.push('', 'Ctrl-C stops.', '')
  process.stdout.write(lines.join('\n'))
}

main().catch((error: unknown) => {
  process.stderr.write(
    `npm start failed: ${error instanceof Error ? error.message : String(error)}\n`,
  )
  process.exitCode = 1
})
