import {
  extractBearerToken,
  hasAllScopes,
  invalidArgument,
  isVerifierUnavailable,
  missingScopes,
  principalComponents,
  type AccessToken,
  type BearerError,
  type Refusal,
} from '@bearerkit/core'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { addMetadataRoutes } from './lib/metadata-routes.js'
import {
  insufficientScope,
  invalidRequest,
  invalidToken,
  missingToken,
  refusalBody,
  unavailable,
} from './lib/refusal.js'
import { checkRouteConfig, routeScopes } from './lib/route-config.js'
import { resolveSettings, type Settings } from './lib/settings.js'
import { authenticated, pending } from './lib/state.js'
import type { BearerAuthOptions } from './options.js'
import './types.js'

const FORM = 'application/x-www-form-urlencoded'

const bearerAuthPlugin: FastifyPluginAsync<BearerAuthOptions> = async (fastify, options) => {
  const settings = await resolveSettings(options)
  if (settings.metadata !== null && fastify.prefix !== '') {
    // RFC 9728 §3: the document lives at the host's root, which a prefixed scope cannot reach.
    throw invalidArgument(
      'options.metadata',
      `cannot be served under the prefix ${JSON.stringify(fastify.prefix)}: set metadata: false ` +
        'and register protectedResourceMetadata at the root of the app',
    )
  }

  // Registering the plugin in two nested scopes must not trip Fastify's duplicate check.
  if (!fastify.hasRequestDecorator('accessToken')) fastify.decorateRequest('accessToken', null)
  if (!fastify.hasRequestDecorator('principal')) fastify.decorateRequest('principal', null)

  const deferred = new WeakMap<FastifyRequest, readonly string[]>()

  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method.join(',') : route.method
    checkRouteConfig(`${methods} ${route.url}`, route.config?.bearer)
  })

  // Authentication runs in onRequest, before the body is read: an anonymous request costs no body
  // parsing, and the query string and headers are all it needs.
  fastify.addHook('onRequest', async (request) => {
    // routeOptions is a getter that builds a new object on every read: read it once.
    const options = request.routeOptions
    const own = routeScopes(
      () => `${request.method} ${options.url ?? '(not found)'}`,
      options.config,
    )
    if (own === null) return
    // Fetch: a CORS preflight never carries credentials; refusing it would break browser clients.
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) return
    const scopes = union(settings.requiredScopes, own)

    if (queryHasToken(request.url)) {
      // RFC 6750 §2.3 / MCP authorization (access token usage): URLs leak into logs and history.
      throw refuse(request, settings, 'token_in_query', () =>
        invalidRequest(settings, 'Access tokens are not accepted in the query string'),
      )
    }
    let raw: string | null
    try {
      raw = extractBearerToken(authorizationHeader(request), {
        maxLength: settings.maxTokenLength,
      })
    } catch (error) {
      // The message never contains the header value (see extractBearerToken).
      throw refuse(request, settings, 'malformed_header', () =>
        invalidRequest(settings, (error as Error).message, error),
      )
    }
    if (raw === null) {
      if (mayCarryFormToken(request)) {
        // RFC 6750 §2.2: a token may hide in a form body; decide once the body is parsed.
        deferred.set(request, scopes)
        return
      }
      throw refuse(request, settings, 'missing_token', () => missingToken(settings, scopes))
    }

    let refusal: Refusal | undefined
    let token: AccessToken | null
    try {
      token = await settings.verifier.verifyToken(raw, {
        onRefusal(given) {
          refusal = given
        },
      })
    } catch (error) {
      // DESIGN: an unavailable verifier is a 503, never a 401, and never an acceptance.
      if (isVerifierUnavailable(error)) {
        const reason = error.reason ?? 'unavailable'
        throw refuse(request, settings, `verifier_unavailable:${reason}`, () =>
          unavailable(settings, reason, error.retryAfter, error),
        )
      }
      // Not a bearerkit error: its message may quote the token, and Fastify logs the cause of a
      // 503, so only its name and code are kept (in our log line), not the error itself.
      throw refuse(
        request,
        settings,
        'verifier_error',
        () => unavailable(settings, 'verifier_error', undefined, undefined),
        describeForeignError(error),
      )
    }
    if (token === null || token === undefined) {
      const reason: string = refusal?.code ?? 'invalid_token'
      const description = refusal?.description ?? 'The access token is invalid'
      throw refuse(request, settings, reason, () =>
        invalidToken(settings, description, reason, scopes),
      )
    }
    if (settings.audiences !== null && !namesResource(token, settings.audiences)) {
      // RFC 8707 §2 / MCP authorization: a token issued for another resource is refused here
      // even when the verifier was configured without an audience.
      throw refuse(request, settings, 'wrong_audience', () =>
        invalidToken(
          settings,
          'The access token is not meant for this resource',
          'wrong_audience',
          scopes,
        ),
      )
    }
    if (!hasAllScopes(token.scopes, scopes)) {
      throw refuse(
        request,
        settings,
        'insufficient_scope',
        () => insufficientScope(settings, scopes),
        { missing: missingScopes(token.scopes, scopes) },
      )
    }
    request.accessToken = token
    request.principal = principalComponents(token)
    authenticated.set(request, { settings, scopes })
    request.log.debug(
      { bearer: { outcome: 'accepted', clientId: token.clientId } },
      'bearer token accepted',
    )
  })

  // RFC 6750 §2.2 form-body tokens are not accepted; a token there, alone or next to the header,
  // is a malformed request. Only form bodies matter: JSON bodies are not an RFC 6750 method.
  fastify.addHook('preValidation', (request, _reply, done) => {
    const waiting = deferred.get(request)
    if (waiting === undefined && authenticated.get(request)?.settings !== settings) {
      done()
      return
    }
    if (formBodyHasToken(request)) {
      done(
        refuse(request, settings, 'token_in_body', () =>
          invalidRequest(
            settings,
            waiting === undefined
              ? 'The access token must be sent in one place only'
              : 'Access tokens are accepted only in the Authorization header',
          ),
        ),
      )
    } else if (waiting !== undefined) {
      done(refuse(request, settings, 'missing_token', () => missingToken(settings, waiting)))
    } else {
      done()
    }
  })

  // Render the refusal as { error, error_description } when Fastify's default error handler
  // answered it. A user's error handler that writes its own body is left alone.
  fastify.addHook('onSend', (request, reply: FastifyReply, payload, done) => {
    const entry = pending.get(request)
    if (entry === undefined || entry.settings !== settings) {
      done(null, payload)
      return
    }
    pending.delete(request)
    if (reply.statusCode !== entry.error.statusCode || !isDefaultErrorBody(payload, entry.error)) {
      done(null, payload)
      return
    }
    reply.type('application/json; charset=utf-8')
    done(null, JSON.stringify(refusalBody(entry.error, settings)))
  })

  if (settings.metadata !== null && settings.resource !== undefined) {
    addMetadataRoutes(fastify, settings.resource, settings.metadata.allowOrigin)
  }
  const close = settings.close
  if (close !== undefined) {
    fastify.addHook('onClose', async () => {
      await close()
    })
  }
}

/**
 * Logs why a request is refused (debug level, a reason code, never the token), remembers the error
 * for rendering and returns it to be thrown, so it flows through Fastify's error handling and a
 * user's `setErrorHandler` sees a `BearerError`.
 */
function refuse(
  request: FastifyRequest,
  settings: Settings,
  reason: string,
  build: () => BearerError,
  details: Record<string, unknown> = {},
): BearerError {
  const error = build()
  const entry = { reason, statusCode: error.statusCode, ...details }
  if (error.statusCode === 503) {
    request.log.warn({ bearer: entry }, 'bearer token could not be verified')
  } else {
    request.log.debug({ bearer: entry }, 'bearer token refused')
  }
  pending.set(request, { error, settings })
  return error
}

// Node keeps only the first of repeated Authorization headers (http.IncomingMessage.headers), so
// a second one is found in rawHeaders; two headers are a malformed request (RFC 6750 §2).
function authorizationHeader(request: FastifyRequest): string | readonly string[] | undefined {
  const raw = request.raw.rawHeaders
  const values: string[] = []
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    // Lower-casing only the names of the right length spares a string per header.
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      values.push(raw[i + 1] as string)
    }
  }
  return values.length > 1 ? values : request.headers.authorization
}

function queryHasToken(url: string): boolean {
  const start = url.indexOf('?')
  if (start === -1) return false
  // Read the raw query, not request.query: a custom querystring parser must not hide the token.
  return new URLSearchParams(url.slice(start + 1)).has('access_token')
}

function isForm(request: FastifyRequest): boolean {
  const type = request.headers['content-type']
  return typeof type === 'string' && type.split(';', 1)[0]?.trim().toLowerCase() === FORM
}

function mayCarryFormToken(request: FastifyRequest): boolean {
  // Without a form parser Fastify answers 415 itself and nobody reads the body.
  return isForm(request) && request.server.hasContentTypeParser(FORM)
}

function formBodyHasToken(request: FastifyRequest): boolean {
  const body = request.body
  return (
    isForm(request) &&
    typeof body === 'object' &&
    body !== null &&
    Object.hasOwn(body, 'access_token')
  )
}

function namesResource(token: AccessToken, audiences: ReadonlySet<string>): boolean {
  if (token.resource !== undefined && audiences.has(token.resource)) return true
  return token.audience?.some((audience) => audiences.has(audience)) ?? false
}

function describeForeignError(error: unknown): Record<string, unknown> {
  const name = error instanceof Error ? error.name : typeof error
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? { errorName: name, errorCode: code } : { errorName: name }
}

function union(a: readonly string[], b: readonly string[]): readonly string[] {
  return b.length === 0 ? a : [...new Set([...a, ...b])]
}

// Fastify's default error handler renders { statusCode, code, error, message }; any other body
// was written by the application and is kept.
function isDefaultErrorBody(payload: unknown, error: BearerError): boolean {
  if (typeof payload !== 'string') return false
  let body: unknown
  try {
    body = JSON.parse(payload)
  } catch {
    return false
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false
  const fields = body as Record<string, unknown>
  return (
    Object.keys(fields).length === 4 &&
    fields.statusCode === error.statusCode &&
    fields.code === error.code &&
    fields.message === error.message &&
    typeof fields.error === 'string'
  )
}

/**
 * Fastify plugin that authenticates requests with bearer tokens (RFC 6750), checks audience
 * (RFC 8707) and scopes, serves RFC 9728 metadata, and decorates each request with
 * `accessToken` and `principal`.
 *
 * Registered with `fastify-plugin`, so its hooks apply where you register it: at the root it
 * protects the whole app; inside a plugin it protects that plugin's routes only. Per route,
 * `config: { bearer: false }` makes a route public and `config: { bearer: { scopes } }` adds
 * scopes.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3 RFC 6750 §3
 * @see https://www.rfc-editor.org/rfc/rfc9728 RFC 9728
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2 RFC 8707 §2
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { bearerAuth } from '@bearerkit/fastify'
 *
 * const app = Fastify()
 * await app.register(bearerAuth, {
 *   verifier,
 *   resource: { url: 'https://api.example.com/mcp', authorizationServers: ['https://login.example.com/'] },
 * })
 * app.get('/whoami', (request) => ({ client: request.accessToken?.clientId }))
 * ```
 */
export const bearerAuth = fp(bearerAuthPlugin, {
  fastify: '5.x',
  name: '@bearerkit/fastify',
})
