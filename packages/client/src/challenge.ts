import { parseChallenge, parseScopes } from '@bearerkit/core'

/** The Bearer challenge of a 401 or 403 from a resource server (RFC 6750 §3). */
export interface BearerChallenge {
  /** `invalid_token`, `insufficient_scope`, `invalid_request`, or undefined (no credentials). */
  error: string | undefined
  errorDescription: string | undefined
  /** The `scope` parameter as sent; on `insufficient_scope`, the scope the request needs. */
  scope: string | undefined
  scopes: readonly string[]
  /** RFC 9728 §5.1 `resource_metadata`. */
  resourceMetadata: string | undefined
  /** Every parameter, names lower-cased. */
  params: Readonly<Record<string, string>>
}

/**
 * The first Bearer challenge of a `WWW-Authenticate` header, or `undefined` when there is none.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3 RFC 6750 §3
 * @example
 * ```ts
 * readBearerChallenge('Bearer error="insufficient_scope", scope="mcp:tools mcp:admin"')?.scopes
 * // ['mcp:tools', 'mcp:admin']
 * ```
 */
export function readBearerChallenge(
  header: string | null | undefined,
): BearerChallenge | undefined {
  if (header === null || header === undefined) return undefined
  const challenge = parseChallenge(header).find((c) => c.scheme.toLowerCase() === 'bearer')
  if (challenge === undefined) return undefined
  const { params } = challenge
  return Object.freeze({
    error: params.error,
    errorDescription: params.error_description,
    scope: params.scope,
    scopes: Object.freeze(params.scope === undefined ? [] : parseScopes(params.scope)),
    resourceMetadata: params.resource_metadata,
    params: Object.freeze({ ...params }),
  })
}
