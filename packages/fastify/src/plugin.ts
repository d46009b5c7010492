import { invalidArgument, isBearerError, type BearerError } from '@bearerkit/core'
import {
  absoluteRequestUrl,
  authorizationFromRawHeaders,
  nodeConnection,
  type BearerGate,
  type GatePending,
  type GateRefused,
  type GateResult,
} from '@bearerkit/http'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { addMetadataRoutes } from './lib/metadata-routes.js'
import { checkRouteConfig, routeScopes } from './lib/route-config.js'
import { resolveSettings } from './lib/settings.js'
import { AUTHENTICATION, authenticated, errors } from './lib/state.js'
import type { BearerAuthOptions } from './options.js'
import './types.js'

const FORM = 'application/x-www-form-urlencoded'

/** A request whose decision waits for preValidation. */
type Deferred = GatePending | { readonly kind: 'preflight'; readonly scopes: readonly string[] }

const bearerAuthPlugin: FastifyPluginAsync<BearerAuthOptions> = async (fastify, options) => {
  const { gate, close, dpop, mtls } = await resolveSettings(options)
  if (gate.metadata !== null && fastify.prefix !== '') {
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
  if (!fastify.hasRequestDecorator(AUTHENTICATION)) fastify.decorateRequest(AUTHENTICATION, null)

  const deferred = new WeakMap<FastifyRequest, Deferred>()

  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method.join(',') : route.method
    checkRouteConfig(`${methods} ${route.url}`, route.config?.bearer)
  })

  const settle = (request: FastifyRequest, result: GateResult): void => {
    if (result.kind === 'accepted') {
      request.accessToken = result.accessToken
      request.principal = result.principal
      authenticated.set(request, { gate, result })
      request.log.debug(
        { bearer: { outcome: 'accepted', clientId: result.accessToken.clientId } },
        'bearer token accepted',
      )
    } else if (result.kind === 'refused') {
      throw refuse(request, gate, result)
    } else if (result.kind === 'pending') {
      // RFC 6750 §2.2: a token may hide in a form body; decide once the body is parsed.
      deferred.set(request, result)
    }
    // 'preflight' never comes back: the plugin never says that no handler runs (see below).
  }

  // What the gate reads of a request: in onRequest with `bodyPending` (the body is not parsed
  // yet), in preValidation with the parsed `body`.
  const gateRequest = (
    request: FastifyRequest,
    scopes: readonly string[],
    body: unknown,
    bodyPending = false,
  ) => ({
    method: request.method,
    // RFC 9449 §4.3: htu names the URL the client called (originalUrl: before rewriteUrl);
    // Fastify's protocol and host follow trustProxy. Only DPoP needs it, so the plain path keeps
    // the relative URL.
    url: dpop
      ? absoluteRequestUrl(request.protocol, request.host, request.originalUrl)
      : request.url,
    headers: request.headers,
    authorization: authorizationFromRawHeaders(request.raw.rawHeaders),
    scopes,
    body,
    bodyPending,
    ...(mtls ? nodeConnection(request.raw.socket) : undefined),
  })

  // The hook's end: settle (which throws the refusal) and go on, or into the error path. `done`
  // runs the next hooks, so it is called outside the try: their errors are theirs.
  const finish = (
    request: FastifyRequest,
    result: GateResult,
    done: (error?: Error) => void,
  ): void => {
    let failure: Error | undefined
    try {
      settle(request, result)
    } catch (error) {
      failure = error as Error
    }
    done(failure)
  }

  // Authentication runs in onRequest, before the body is read: an anonymous request costs no body
  // parsing, and the query string and headers are all it needs. A callback hook rather than an
  // async one: a verified-token cache hit, or a JWT checked with a static key, is decided at once
  // (gate.authenticateNow), without a promise or the verifier deadline's bookkeeping. The rest of
  // the request still goes on a microtask later, as after an async hook: Node runs microtasks
  // once it has parsed every request of a read, so pipelined requests are authenticated one
  // after the other and then handled and answered one after the other. Going on at once
  // interleaves the two (signature check, handler, response write, next signature check), which
  // measured about 10 us more server CPU per request with RS256 (bench/README.md).
  fastify.addHook('onRequest', (request, _reply, done) => {
    let answer: GateResult | Promise<GateResult>
    try {
      // routeOptions is a getter that builds a new object on every read: read it once.
      const options = request.routeOptions
      const own = routeScopes(
        () => `${request.method} ${options.url ?? '(not found)'}`,
        options.config,
      )
      if (own === null) {
        done()
        return
      }
      if (
        request.method === 'OPTIONS' &&
        request.headers['access-control-request-method'] &&
        request.server.hasPlugin('@fastify/cors')
      ) {
        // A CORS preflight carries no credentials. @fastify/cors answers it in its own onRequest
        // hook, and then nothing of the application runs (registered after this plugin, hooks
        // added between the two still run first: the README says to register it before). A
        // preflight that reaches preValidation is about to run a handler (an all('/admin')
        // route), so it is authenticated there like any other request. Without @fastify/cors
        // nobody answers the preflight, and deferring would run the application's later
        // onRequest and preParsing hooks unauthenticated: it is decided right here like any
        // other request.
        deferred.set(request, { kind: 'preflight', scopes: own })
        done()
        return
      }
      const type = request.headers['content-type']
      answer = gate.authenticateNow(
        // Without a form parser Fastify answers 415 itself and nobody reads the body.
        gateRequest(
          request,
          own,
          undefined,
          type !== undefined && request.server.hasContentTypeParser(FORM),
        ),
      )
    } catch (error) {
      done(error as Error)
      return
    }
    if (answer instanceof Promise) {
      answer.then(
        (result) => {
          finish(request, result, done)
        },
        (error: unknown) => {
          done(error as Error)
        },
      )
      return
    }
    const result = answer
    queueMicrotask(() => {
      finish(request, result, done)
    })
  })

  // RFC 6750 §2.2 form-body tokens are not accepted; a token there, alone or next to the header,
  // is a malformed request. Only form bodies matter: JSON bodies are not an RFC 6750 method.
  fastify.addHook('preValidation', (request, _reply, done) => {
    const waiting = deferred.get(request)
    if (waiting === undefined) {
      const state =
        request.headers['content-type'] === undefined ? undefined : authenticated.get(request)
      if (state === undefined || state.gate !== gate) {
        done()
        return
      }
      const checked = gate.checkBody(request, state.result)
      done(checked.kind === 'refused' ? refuse(request, gate, checked) : undefined)
      return
    }
    deferred.delete(request)
    if (waiting.kind === 'pending') {
      const checked = gate.checkBody(request, waiting)
      done(checked.kind === 'refused' ? refuse(request, gate, checked) : undefined)
      return
    }
    gate.authenticate(gateRequest(request, waiting.scopes, request.body)).then(
      (result) => {
        try {
          settle(request, result)
        } catch (error) {
          done(error as Error)
          return
        }
        done()
      },
      (error: unknown) => done(error as Error),
    )
  })

  // Any BearerError on its way out, whoever threw it (the plugin, a handler, a hook), is
  // remembered so that Fastify's default rendering of it can be replaced by RFC 6750's.
  fastify.addHook('onError', (request, _reply, error, done) => {
    if (isBearerError(error) && errors.get(request)?.error !== error) {
      errors.set(request, { error, gate })
    }
    done()
  })

  // Render the error as the exact RFC 6750 answer (challenge from this plugin's settings,
  // { error, error_description }) when Fastify's default error handler answered it. A body a
  // user's error handler writes itself is left alone.
  fastify.addHook('onSend', (request, reply: FastifyReply, payload, done) => {
    const entry = errors.get(request)
    if (entry === undefined || entry.gate !== gate) {
      done(null, payload)
      return
    }
    errors.delete(request)
    const error = entry.error
    if (reply.statusCode !== error.statusCode || !isDefaultErrorBody(payload, error)) {
      done(null, payload)
      return
    }
    const scopes = authenticated.get(request)?.result.scopes ?? gate.requiredScopes
    const answer = gate.respond(error, scopes, request.method)
    reply.code(answer.status).headers(answer.headers)
    done(null, answer.body ?? payload)
  })

  if (gate.metadata !== null) addMetadataRoutes(fastify, gate.metadata)
  if (close !== undefined) {
    fastify.addHook('onClose', async () => {
      await close()
    })
  }
}

/**
 * Logs why a request is refused (debug level, a reason code, never the token; 503 at warn),
 * remembers the error for rendering and returns it to be thrown, so it flows through Fastify's
 * error handling and a user's `setErrorHandler` sees a `BearerError`.
 */
export function refuse(
  request: FastifyRequest,
  gate: BearerGate,
  result: GateRefused,
): BearerError {
  if (result.response.status === 503) {
    request.log.warn({ bearer: result.log }, 'bearer token could not be verified')
  } else {
    request.log.debug({ bearer: result.log }, 'bearer token refused')
  }
  errors.set(request, { error: result.error, gate })
  return result.error
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
