/**
 * The exact answer to send for a refused request (or a metadata request): status, headers and
 * body. Header names are lower case. Adapters copy all three as they are.
 */
export interface GateResponse {
  readonly status: number
  /**
   * `www-authenticate` (RFC 6750 §3), `retry-after` (503), `cache-control`, `content-type`, and
   * the CORS headers of metadata answers.
   */
  readonly headers: Readonly<Record<string, string>>
  /** JSON text; `null` when there is no body (a `HEAD` request, a 204 preflight answer). */
  readonly body: string | null
}

/**
 * The web-standard `Response` of a {@link GateResponse}, for Workers, Deno, Bun and any framework
 * built on `Request`/`Response`.
 *
 * @example
 * ```ts
 * const result = await gate.authenticate(request)
 * if (result.kind === 'refused') return toWebResponse(result.response)
 * ```
 */
export function toWebResponse(response: GateResponse): Response {
  return new Response(response.body, { status: response.status, headers: response.headers })
}
