import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { createForwardAuthServer, type ForwardAuthOptions } from '@bearerkit/http'
import { EXIT, type CliIo } from './io.js'
import { parse } from './lib/args.js'
import { ConfigError, UsageError } from './lib/usage-error.js'
import { VERIFIER_OPTIONS, buildVerifier, closeVerifier, list } from './lib/verifier-flags.js'

export const SERVE_HELP = `Usage: bearerkit serve [options]

Runs the forward-auth server of @bearerkit/http: a reverse proxy (nginx auth_request, Traefik
forwardAuth, Envoy ext_authz) asks it about each request; it answers 200 with identity headers
(x-bearer-client-id, x-bearer-subject, x-bearer-issuer, x-bearer-scopes) or the RFC 6750 401,
400, 403 or 503 the client must see. The verifier comes from the verifier flags (as for
"bearerkit verify") or from the BEARERKIT_* environment. Runs until SIGINT or SIGTERM.

Options:
  --port <n>                    port to listen on (default 9000; 0 picks a free one)
  --host <address>              address to listen on (default 127.0.0.1)
  --resource <url>              this resource's identifier: RFC 9728 metadata and
                                resource_metadata in challenges (env BEARERKIT_RESOURCE)
  --authorization-server <url>  issuer listed in the metadata; repeatable (default: --issuer
                                or BEARERKIT_ISSUER)
  --trusted-proxy <addr|cidr>   proxy whose X-Original-* / X-Forwarded-* headers are believed;
                                repeatable (env BEARERKIT_TRUSTED_PROXIES, comma-separated;
                                default loopback only)
  --path-prefix <path>          prefix the proxy puts before the original path (Envoy)
  --type, --issuer, --audience, --jwks-uri, --algorithms, --introspection-url, --client-id,
  --client-secret, --required-scopes
                                the verifier, as for "bearerkit verify"
  -h, --help                    show this help

Examples:
  bearerkit serve --issuer https://login.example.com/ --audience https://api.example.com/mcp \\
    --resource https://api.example.com/mcp --port 9000
  BEARERKIT_VERIFIER=jwt BEARERKIT_ISSUER=https://login.example.com/ \\
    BEARERKIT_AUDIENCE=https://api.example.com/mcp bearerkit serve --trusted-proxy 10.0.0.2

Exit codes: 0 stopped by a signal, 1 could not listen, 64 usage error, 78 configuration error.
`

const OPTIONS = {
  ...VERIFIER_OPTIONS,
  port: { type: 'string' },
  host: { type: 'string' },
  resource: { type: 'string' },
  'authorization-server': { type: 'string', multiple: true },
  'trusted-proxy': { type: 'string', multiple: true },
  'path-prefix': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

function readPort(value: string | undefined): number {
  if (value === undefined) return 9000
  const port = Number(value)
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new UsageError('--port must be a whole number from 0 to 65535')
  }
  return port
}

/**
 * `bearerkit serve`: see {@link SERVE_HELP}. Resolves when `io.signal` aborts and the server has
 * closed.
 *
 * @returns 0 after a clean stop, 1 when it cannot listen, 64 usage error, 78 configuration error
 */
export async function serveCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS)
  if (values.help === true) {
    io.stdout.write(SERVE_HELP)
    return EXIT.ok
  }
  if (positionals.length > 0) throw new UsageError('serve takes no arguments')
  const port = readPort(values.port)
  const host = values.host ?? '127.0.0.1'
  const { verifier, config } = await buildVerifier(values, io)
  const options: ForwardAuthOptions = { verifier }
  const resource = values.resource ?? io.env.BEARERKIT_RESOURCE
  if (resource !== undefined) {
    const issuer = (config as { issuer?: unknown }).issuer
    const servers = values['authorization-server'] ?? (typeof issuer === 'string' ? [issuer] : [])
    options.resource = { url: resource, authorizationServers: servers }
  }
  const proxies =
    values['trusted-proxy'] ??
    (io.env.BEARERKIT_TRUSTED_PROXIES === undefined
      ? undefined
      : list(io.env.BEARERKIT_TRUSTED_PROXIES))
  if (proxies !== undefined) options.trustedProxies = proxies
  if (values['path-prefix'] !== undefined) options.pathPrefix = values['path-prefix']

  let server: ReturnType<typeof createForwardAuthServer>
  try {
    server = createForwardAuthServer(options)
  } catch (error) {
    closeVerifier(verifier)
    throw new ConfigError(error instanceof Error ? error.message : String(error), { cause: error })
  }
  try {
    server.listen(port, host)
    await once(server, 'listening')
  } catch (error) {
    closeVerifier(verifier)
    io.stderr.write(
      `bearerkit serve: cannot listen on ${host}:${port}: ${error instanceof Error ? error.message : String(error)}\n`,
    )
    return EXIT.failed
  }
  const address = server.address() as AddressInfo
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  io.stdout.write(
    `bearerkit serve: forward-auth listening on http://${shown}:${address.port}` +
      `${resource === undefined ? '' : ` for ${resource}`}\n`,
  )
  await new Promise<void>((resolve) => {
    if (io.signal === undefined) return
    if (io.signal.aborted) resolve()
    else io.signal.addEventListener('abort', () => resolve(), { once: true })
  })
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  closeVerifier(verifier)
  io.stdout.write('bearerkit serve: stopped\n')
  return EXIT.ok
}
