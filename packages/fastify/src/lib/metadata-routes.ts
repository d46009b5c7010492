import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ResolvedResource } from './resource.js'

// A comma-separated list of header names (RFC 9110 §5.6.1 tokens), as a preflight asks for them.
const HEADER_LIST = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*,[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+)*$/

/**
 * Adds `GET` (and Fastify's automatic `HEAD`) for the RFC 9728 metadata document and, with CORS on,
 * an `OPTIONS` preflight route, so browser-based clients (MCP inspectors, web agents) can read the
 * document cross-origin. All of them are public (`config.bearer: false`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3 RFC 9728 §3
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol Fetch, the CORS protocol
 */
export function addMetadataRoutes(
  fastify: FastifyInstance,
  resource: ResolvedResource,
  allowOrigin: string | false,
): void {
  // find-my-way reads ':' as a parameter and '::' as a literal colon.
  const url = resource.metadataPath.replaceAll(':', '::')
  const body = JSON.stringify(resource.document)
  fastify.route({
    method: 'GET',
    url,
    config: { bearer: false },
    handler(_request: FastifyRequest, reply: FastifyReply) {
      if (allowOrigin !== false) reply.header('access-control-allow-origin', allowOrigin)
      return reply.type('application/json; charset=utf-8').send(body)
    },
  })
  if (allowOrigin === false) return
  fastify.route({
    method: 'OPTIONS',
    url,
    config: { bearer: false },
    handler(request: FastifyRequest, reply: FastifyReply) {
      reply.header('access-control-allow-origin', allowOrigin)
      reply.header('access-control-allow-methods', 'GET, HEAD, OPTIONS')
      const asked = request.headers['access-control-request-headers']
      // Echo the requested headers (MCP clients send MCP-Protocol-Version) when they are a
      // well-formed list; the document is public, so any header may accompany the GET.
      if (typeof asked === 'string' && HEADER_LIST.test(asked)) {
        reply.header('access-control-allow-headers', asked)
      }
      reply.header('access-control-max-age', '86400')
      return reply.code(204).send()
    },
  })
}
