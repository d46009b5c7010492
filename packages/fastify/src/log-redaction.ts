import { redactTokenParams } from '@bearerkit/http'
import type { FastifyRequest } from 'fastify'

/** What Fastify's own `req` serializer logs, with the URL's token parameters redacted. */
export interface RedactedRequest {
  [field: string]: unknown
  method: string
  url: string
  // Optional rather than `| undefined`: Fastify's logger options type them so, and a user with
  // exactOptionalPropertyTypes could not spread tokenSafeLogging into them otherwise.
  version?: string
  host: string
  remoteAddress: string
  remotePort?: number
}

/**
 * Fastify's `req` log serializer with the values of `access_token` and `token` query parameters
 * replaced by `[redacted]`. A token in the query is refused (400), but Fastify logs the URL of
 * every incoming request before any hook runs.
 *
 * @example
 * ```ts
 * const app = Fastify({ logger: { serializers: { req: redactRequest } } })
 * ```
 */
export function redactRequest(request: FastifyRequest): RedactedRequest {
  const redacted: RedactedRequest = {
    method: request.method,
    url: redactTokenParams(request.url),
    host: request.host,
    remoteAddress: request.ip,
  }
  const version = acceptVersion(request.headers['accept-version'])
  if (version !== undefined) redacted.version = version
  const remotePort = request.socket?.remotePort
  if (remotePort !== undefined) redacted.remotePort = remotePort
  return redacted
}

function acceptVersion(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value
}

const URL_WORD = /\S*\?\S*/g

/**
 * Logger options that keep tokens out of Fastify's logs: the {@link redactRequest} serializer
 * and a hook that redacts token parameters from URLs quoted in log messages (Fastify's
 * `Route GET:/x?access_token=... not found` line). Spread them into Fastify's `logger` option.
 *
 * @example
 * ```ts
 * const app = Fastify({ logger: { level: 'info', ...tokenSafeLogging } })
 * ```
 */
export const tokenSafeLogging = Object.freeze({
  serializers: Object.freeze({ req: redactRequest }),
  hooks: Object.freeze({
    logMethod(this: unknown, args: unknown[], method: (...args: unknown[]) => void): void {
      for (let i = 0; i < args.length; i++) {
        const arg = args[i]
        if (typeof arg === 'string' && arg.includes('?')) {
          // Each URL-like word of a message, so the words after it stay.
          args[i] = arg.replace(URL_WORD, redactTokenParams)
        }
      }
      method.apply(this, args)
    },
  }),
})
