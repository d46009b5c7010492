/**
 * `npm run fleet`: the MCP example as a small fleet. Three instances of `createMcpApp` (ports
 * 3001, 3002, 3003; `FLEET_PORT` moves the first) share one Redis (`BEARERKIT_REDIS_URL`, default
 * redis://127.0.0.1:6379) and one local authorization server, so a session created on one is its
 * owner's on the others, and a revocation made on one reaches all of them in milliseconds.
 *
 * Each instance opens its own connections and keeps its own copy of the revocation list, exactly
 * as separate processes would; run `node examples/dist/mcp-server.js` three times with the same
 * `BEARERKIT_REDIS_URL` for a fleet of processes.
 */
import { createStoresFromEnv, type Stores } from '@bearerkit/core'
import { createLocalAuthorizationServer } from '@bearerkit/testing'
import type { FastifyInstance } from 'fastify'
import { ADMIN_SCOPE, TOOLS_SCOPE, createMcpApp } from './mcp-server.js'

async function main(): Promise<void> {
  const env: Record<string, string | undefined> = {
    BEARERKIT_REDIS_URL: 'redis://127.0.0.1:6379',
    ...process.env,
  }
  const first = Number(env.FLEET_PORT ?? 3001)
  const ports = [first, first + 1, first + 2]
  const as = await createLocalAuthorizationServer({
    scopesSupported: [TOOLS_SCOPE, ADMIN_SCOPE],
    quiet: true,
  })
  // One resource identifier for the fleet, as behind a load balancer (RFC 8707 audience).
  const resourceUrl = env.MCP_RESOURCE_URL ?? `http://127.0.0.1:${first}/mcp`
  const instances: { app: FastifyInstance; stores: Stores }[] = []
  for (const port of ports) {
    const stores = await createStoresFromEnv(env)
    await stores.ready()
    const app = await createMcpApp({
      verifier: {
        type: 'jwt',
        issuer: as.issuer,
        audience: resourceUrl,
        jwksUri: as.jwksUri,
        cache: { ttl: 60 },
      },
      resourceUrl,
      authorizationServers: [as.issuer],
      stores,
    })
    await app.listen({ host: '127.0.0.1', port })
    instances.push({ app, stores })
  }
  const token = await as.issueToken({
    audience: resourceUrl,
    scopes: [TOOLS_SCOPE],
    subject: 'alice',
  })
  const init = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'curl', version: '1' },
    },
  })
  const accept =
    "-H 'accept: application/json, text/event-stream' -H 'content-type: application/json'"
  console.log(`fleet of ${ports.length} on ports ${ports.join(', ')}, sharing ${instances[0]?.stores.kind} stores
token (alice): ${token}

1. create a session on the first instance (note the mcp-session-id response header):
   curl -si ${accept} -H 'authorization: Bearer ${token}' -d '${init}' http://127.0.0.1:${ports[0]}/mcp
2. use it on the second: the same principal gets 200, any other token 404
   curl -s ${accept} -H 'authorization: Bearer ${token}' -H 'mcp-session-id: <id>' \\
     -d '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' http://127.0.0.1:${ports[1]}/mcp
3. revoke alice everywhere (then step 2 answers 401 on every instance):
   node -e "import('@bearerkit/redis').then(r => r.revokeInRedis({ url: '${env.BEARERKIT_REDIS_URL}' }, { issuer: '${as.issuer}', subject: 'alice' }))"`)
  const stop = (): void => {
    void Promise.all(instances.map(({ app, stores }) => app.close().then(() => stores.close())))
      .then(() => as.close())
      .then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
