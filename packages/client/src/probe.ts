import { invalidArgument, readOptionalString, validateUrl } from '@bearerkit/core'
import { readBearerChallenge, type BearerChallenge } from './challenge.js'
import { send } from './lib/http.js'
import { readRequestOptions } from './lib/options.js'
import type { RequestOptions } from './request-options.js'

/** Options of {@link probeResource}. */
export interface ProbeOptions extends RequestOptions {
  /** An access token to present (in the `Authorization` header, never in the URL). */
  token?: string
  /** The MCP protocol version announced (`POST` only). Default `2025-06-18`. */
  protocolVersion?: string
  /**
   * `POST` (default): the MCP `initialize` request. `GET`: a plain GET without a body, for a
   * protected resource that is not an MCP server (a REST API behind bearer authentication).
   */
  method?: 'POST' | 'GET'
}

/** What a resource answered to {@link probeResource}. */
export interface ProbeResult {
  status: number
  /** The raw `WWW-Authenticate` header, or null. */
  wwwAuthenticate: string | null
  /** Its Bearer challenge, for a 401 or 403 that has one. */
  challenge: BearerChallenge | undefined
}

/**
 * POSTs a minimal MCP request (`initialize`) to a resource, optionally with a token, and reports
 * the status and, for a 401 or 403, the Bearer challenge: what an MCP client sees before it knows
 * anything, and what it sees when its token lacks a scope. With `method: 'GET'` it sends a plain
 * GET instead, for resources that are not MCP servers (at an MCP endpoint a GET with a valid token
 * may open the server's event stream, read until the timeout). The response body is read within
 * the size limit and dropped; redirects are not followed (`ERR_REDIRECT_REFUSED`).
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#authorization-server-discovery MCP authorization
 * @example
 * ```ts
 * const { status, challenge } = await probeResource('https://mcp.example.com/mcp')
 * if (status === 401) await discoverProtectedResource(url, { wwwAuthenticate: ... })
 * ```
 */
export async function probeResource(
  resource: string,
  options: ProbeOptions = {},
): Promise<ProbeResult> {
  const { request, rest } = readRequestOptions('options', options, [
    'token',
    'protocolVersion',
    'method',
  ])
  const url = validateUrl('resource', resource)
  const token = readOptionalString('options.token', rest.token)
  const method = rest.method ?? 'POST'
  if (method !== 'POST' && method !== 'GET') {
    throw invalidArgument('options.method', 'must be POST or GET')
  }
  if (method === 'GET' && rest.protocolVersion !== undefined) {
    throw invalidArgument('options.protocolVersion', 'is only sent in the POST (MCP) request')
  }
  const protocolVersion =
    readOptionalString('options.protocolVersion', rest.protocolVersion) ?? '2025-06-18'
  const authorization: Record<string, string> =
    token === undefined ? {} : { authorization: `Bearer ${token}` }
  const response =
    method === 'GET'
      ? await send(url, 'Probe request', {
          ...request,
          method: 'GET',
          headers: { accept: '*/*', ...authorization },
        })
      : await send(url, 'MCP probe request', {
          ...request,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...authorization,
          },
          body: initializeRequest(protocolVersion),
        })
  const wwwAuthenticate = response.headers.get('www-authenticate')
  return Object.freeze({
    status: response.status,
    wwwAuthenticate,
    challenge:
      response.status === 401 || response.status === 403
        ? readBearerChallenge(wwwAuthenticate)
        : undefined,
  })
}

function initializeRequest(protocolVersion: string): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion,
      capabilities: {},
      clientInfo: { name: 'bearerkit-probe', version: '0.1.0' },
    },
  })
}
