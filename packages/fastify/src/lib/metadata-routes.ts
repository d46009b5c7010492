import type { GateResponse, ProtectedResourceMetadata } from '@bearerkit/http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/**
 * Adds `GET` (and Fastify's automatic `HEAD`) for the RFC 9728 metadata document and, with CORS on,
 * an `OPTIONS` preflight route, so browser-based clients (MCP inspectors, web agents) can read the
 * document cross-origin. All of them are public (`config.bearer: false`); the answers are the
 * gate's (`ProtectedResourceMetadata.respond`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3 RFC 9728 §3
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol Fetch, the CORS protocol
 */
export function addMetadataRoutes(
  fastify: FastifyInstance,
  metadata: ProtectedResourceMetadata,
): void {
  // find-my-way matches the request path percent-decoded (all but reserved characters, as
  // decodeURI does), so the route is the decoded path: registered encoded (`/caf%C3%A9`), it was
  // never reached, and the URL every challenge names answered 401. It reads ':' as a parameter
  // and '::' as a literal colon.
  const url = routePath(metadata.path).replaceAll(':', '::')
  const handler = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    // The route matched the path and a method respond() answers (GET, or OPTIONS with CORS on),
    // so the answer exists; Fastify's HEAD route calls this with HEAD and drops GET's body.
    const answer = metadata.respond({
      method: request.method === 'HEAD' ? 'GET' : request.method,
      url: metadata.path,
      headers: request.headers,
    }) as GateResponse
    return reply
      .code(answer.status)
      .headers(answer.headers)
      .send(answer.body ?? undefined)
  }
  fastify.route({ method: 'GET', url, config: { bearer: false }, handler })
  if (metadata.allowOrigin === false) return
  fastify.route({ method: 'OPTIONS', url, config: { bearer: false }, handler })
}

function routePath(path: string): string {
  try {
    return decodeURI(path)
  } catch {
    // A malformed escape (`%zz`) is not decoded by the router either.
    return path
  }
}
