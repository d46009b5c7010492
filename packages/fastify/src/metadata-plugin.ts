import { invalidArgument } from '@bearerkit/core'
import { createProtectedResourceMetadata } from '@bearerkit/http'
import type { FastifyPluginCallback } from 'fastify'
import fp from 'fastify-plugin'
import { addMetadataRoutes } from './lib/metadata-routes.js'
import type { ProtectedResourceOptions } from './options.js'
import './types.js'

/** Options of {@link protectedResourceMetadata}. */
export interface ProtectedResourceMetadataOptions {
  /** The protected resource, as in `bearerAuth`'s `resource`. */
  resource: ProtectedResourceOptions
  /** `Access-Control-Allow-Origin`: `'*'` (default), one origin, or `false` for no CORS. */
  allowOrigin?: string | false
}

const metadataPlugin: FastifyPluginCallback<ProtectedResourceMetadataOptions> = (
  fastify,
  options,
  done,
) => {
  try {
    const metadata = createProtectedResourceMetadata({
      resource: options.resource,
      ...(options.allowOrigin === undefined ? {} : { allowOrigin: options.allowOrigin }),
    })
    if (fastify.prefix !== '') {
      throw invalidArgument(
        'protectedResourceMetadata',
        `must be registered at the root of the app, not under the prefix ${JSON.stringify(fastify.prefix)}`,
      )
    }
    addMetadataRoutes(fastify, metadata)
  } catch (error) {
    done(error as Error)
    return
  }
  done()
}

/**
 * Serves only the RFC 9728 protected resource metadata (with CORS), for apps that register
 * `bearerAuth` under a prefix (where the well-known path cannot be reached) or describe several
 * resources from one root. Register it at the root, and pass `metadata: false` to `bearerAuth`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3 RFC 9728 §3
 * @example
 * ```ts
 * await app.register(protectedResourceMetadata, { resource })
 * await app.register(
 *   async (api) => { await api.register(bearerAuth, { verifier, resource, metadata: false }) },
 *   { prefix: '/mcp' },
 * )
 * ```
 */
export const protectedResourceMetadata = fp(metadataPlugin, {
  fastify: '5.x',
  name: '@bearerkit/fastify/metadata',
})
