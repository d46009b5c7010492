/**
 * An MCP client (the MCP SDK's `Client`) that gets its tokens with @bearerkit/client: it connects
 * to the MCP server URL given on the command line, discovers the authorization server from the
 * server's 401 (RFC 9728), obtains a client (pre-registered, Client ID Metadata Document or dynamic
 * registration), gets a token, lists the tools, and calls one if asked; a 403
 * `insufficient_scope` on the way is answered with a step-up.
 *
 *   node examples/dist/mcp-client.js <mcp-url> [tool] [json-arguments]
 *
 * Environment:
 * - `MCP_CLIENT_GRANT`: `client_credentials` (default) or `authorization_code`. The latter runs
 *   the automated flow (the authorization server's redirects are followed without a browser), for
 *   servers that decide without a human, such as a test server with a standing consent;
 * - `MCP_CLIENT_ID`, `MCP_CLIENT_SECRET`: a pre-registered client (no secret: a public client);
 * - `MCP_CLIENT_METADATA_URL`: the https URL of this client's metadata document, used as its
 *   client id where the server supports that;
 * - without either, the client registers itself dynamically (RFC 7591) where the server allows it;
 * - `MCP_CLIENT_SCOPE`: the scope to ask for when no challenge names one;
 * - `MCP_CLIENT_REDIRECT_URI`: for `authorization_code`, default `http://127.0.0.1:8976/callback`.
 */
import { pathToFileURL } from 'node:url'
import {
  createMcpAuthProvider,
  createOAuthSession,
  followAuthorizationRedirects,
  type OAuthSessionOptions,
  type SessionGrant,
} from '@bearerkit/client'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'

/** What {@link runMcpClient} did: the tools it saw and the result of the call, if one was asked for. */
export interface McpClientRun {
  tools: string[]
  result: unknown
  /** How the authorization server was found and the client obtained. */
  discovery: string | undefined
  registration: string | undefined
}

/** The session options the environment describes, for the MCP server at `url`. */
export function sessionOptionsFromEnv(
  url: string,
  env: Readonly<Record<string, string | undefined>>,
  fetchImpl?: typeof fetch,
): OAuthSessionOptions {
  const redirectUri = env.MCP_CLIENT_REDIRECT_URI ?? 'http://127.0.0.1:8976/callback'
  const grantType = env.MCP_CLIENT_GRANT ?? 'client_credentials'
  let grant: SessionGrant
  if (grantType === 'client_credentials') {
    grant = { type: 'client_credentials' }
  } else if (grantType === 'authorization_code') {
    grant = {
      type: 'authorization_code',
      redirectUri,
      // The interactive step, automated: follow the server's redirects to the callback URL.
      authorize: (request) =>
        followAuthorizationRedirects(request.url, {
          redirectUri,
          ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }),
        }),
    }
  } else {
    throw new Error('MCP_CLIENT_GRANT must be client_credentials or authorization_code')
  }
  const clientId = env.MCP_CLIENT_ID
  return {
    resource: url,
    grant,
    ...(clientId === undefined
      ? {}
      : {
          client: {
            clientId,
            ...(env.MCP_CLIENT_SECRET === undefined ? {} : { clientSecret: env.MCP_CLIENT_SECRET }),
          },
        }),
    ...(env.MCP_CLIENT_METADATA_URL === undefined
      ? {}
      : { clientMetadataUrl: env.MCP_CLIENT_METADATA_URL }),
    clientMetadata: {
      client_name: 'bearerkit example MCP client',
      ...(grant.type === 'authorization_code'
        ? {
            redirect_uris: [redirectUri],
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            token_endpoint_auth_method: 'none',
          }
        : {
            redirect_uris: [],
            grant_types: ['client_credentials'],
            response_types: [],
            token_endpoint_auth_method: 'client_secret_basic',
          }),
    },
    ...(env.MCP_CLIENT_SCOPE === undefined ? {} : { scope: env.MCP_CLIENT_SCOPE }),
    ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }),
  }
}

/** Connects, lists the tools, calls `tool` with `args` when given, and closes. */
export async function runMcpClient(
  url: string,
  env: Readonly<Record<string, string | undefined>>,
  tool?: string,
  args: Record<string, unknown> = {},
): Promise<McpClientRun> {
  const session = createOAuthSession(sessionOptionsFromEnv(url, env))
  const authProvider = createMcpAuthProvider(session, { clientName: 'bearerkit example' })
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    authProvider,
    fetch: authProvider.fetch,
  })
  const client = new Client({ name: 'bearerkit-example-client', version: '0.1.0' })
  await client.connect(transport)
  try {
    const { tools } = await client.listTools()
    const result =
      tool === undefined ? undefined : await client.callTool({ name: tool, arguments: args })
    return {
      tools: tools.map((t) => t.name),
      result,
      discovery: session.state.protectedResource?.source,
      registration: session.state.client?.method,
    }
  } finally {
    await client.close()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [url, tool, json] = process.argv.slice(2)
  if (url === undefined) {
    console.error('usage: node examples/dist/mcp-client.js <mcp-url> [tool] [json-arguments]')
    process.exitCode = 2
  } else {
    runMcpClient(
      url,
      process.env,
      tool,
      json === undefined ? {} : (JSON.parse(json) as Record<string, unknown>),
    )
      .then((run) => console.log(JSON.stringify(run, null, 2)))
      .catch((error: unknown) => {
        // Errors of @bearerkit/client carry a stable code and never a token.
        const { code, message } = error as { code?: string; message?: string }
        console.error(code === undefined ? message : `${code}: ${message}`)
        process.exitCode = 1
      })
  }
}
