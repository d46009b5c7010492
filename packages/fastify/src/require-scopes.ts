import { hasAllScopes, invalidArgument, missingScopes } from '@bearerkit/core'
import type { FastifyRequest } from 'fastify'
import { insufficientScope } from './lib/refusal.js'
import { authenticated, pending } from './lib/state.js'

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
  const token = request.accessToken
  if (state === undefined || token === null) {
    throw invalidArgument('request', 'was not authenticated by bearerAuth')
  }
  const needed = [...new Set([...state.scopes, ...scopes])]
  if (hasAllScopes(token.scopes, needed)) return
  const error = insufficientScope(state.settings, needed)
  request.log.debug(
    {
      bearer: {
        reason: 'insufficient_scope',
        statusCode: 403,
        missing: missingScopes(token.scopes, needed),
      },
    },
    'bearer token refused',
  )
  pending.set(request, { error, settings: state.settings })
  throw error
}
