import { invalidArgument } from '@bearerkit/core'
import type { FastifyRequest } from 'fastify'
import { authenticated } from './lib/state.js'
import { refuse } from './plugin.js'

/**
 * Demands more scopes than the route declared, for decisions made inside a handler (an MCP
 * `tools/call` whose tool needs its own scope, say). Throws the same 403 `insufficient_scope` the
 * plugin answers, whose `scope` lists every scope the request needs (the route's and these), so
 * the client can step up in one authorization request.
 *
 * @throws InsufficientScopeError (`ERR_INSUFFICIENT_SCOPE`) when the token lacks a scope.
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) when the request was not authenticated by
 * `bearerAuth` (a public route, or a route outside the plugin's scope).
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 RFC 6750 §3.1
 * @example
 * ```ts
 * app.post('/mcp', async (request, reply) => {
 *   if (isToolCall(request.body, 'delete_file')) requireScopes(request, ['files:delete'])
 *   // ...
 * })
 * ```
 */
export function requireScopes(request: FastifyRequest, scopes: readonly string[]): void {
  const state = authenticated.get(request)
  if (state === undefined || request.accessToken === null) {
    throw invalidArgument('request', 'was not authenticated by bearerAuth')
  }
  const refusal = state.gate.requireScopes(state.result, scopes, request.method)
  if (refusal !== null) throw refuse(request, state.gate, refusal)
}
