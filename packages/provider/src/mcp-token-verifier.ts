import {
  Refusal,
  VerifierUnavailableError,
  defineVerifier,
  invalidArgument,
  isVerifierUnavailable,
  raceAbort,
  type TokenVerifier,
} from '@bearerkit/core'
import { accessTokenFromAuthInfo, toAuthInfo, type McpAuthInfo } from './auth-info.js'
import { resolveOptions } from './lib/options.js'
import { createSdkErrorLoader, isErrorClasses, type McpErrorClasses } from './lib/sdk-errors.js'
import { RecordProblem, judge } from './lib/record.js'
import type { ProviderVerifierOptions } from './provider-verifier.js'

export type { McpErrorClasses }

/**
 * The MCP TypeScript SDK's `OAuthTokenVerifier`, declared structurally (the SDK's is assignable to
 * it and back): resolves to an `AuthInfo` for a valid token and throws for any other.
 */
export interface McpTokenVerifier {
  verifyAccessToken(token: string): Promise<McpAuthInfo>
}

/** Options of {@link fromMcpTokenVerifier}: the same as those of `createProviderVerifier`. */
export type FromMcpTokenVerifierOptions = ProviderVerifierOptions

/** Options of {@link toMcpTokenVerifier}. */
export interface ToMcpTokenVerifierOptions {
  /**
   * The SDK's `InvalidTokenError` and `ServerError`. Default: imported on first use from
   * `@modelcontextprotocol/sdk/server/auth/errors.js` (the ESM build). Pass them when the server
   * loads the SDK's CommonJS build (`require`), whose classes are different objects.
   */
  errors?: McpErrorClasses
}

// The SDK's OAuthError subclasses expose their RFC code as `errorCode`; judging by it keeps this
// package free of a runtime import of the SDK, and works with any copy of it.
function isSdkInvalidTokenError(error: unknown): boolean {
  return error instanceof Error && (error as { errorCode?: unknown }).errorCode === 'invalid_token'
}

/**
 * Wraps an MCP TypeScript SDK `OAuthTokenVerifier` as a bearerkit `TokenVerifier`, with the same
 * contract and checks as every other verifier:
 *
 * - the SDK's `InvalidTokenError` (any error whose `errorCode` is `invalid_token`): refused
 *   (`rejected`; the SDK's message is not reused, it might quote the token);
 * - any other error (a plain `Error` included, as some SDK examples throw for bad tokens):
 *   `VerifierUnavailableError` with reason `verifier_error` and the error as `cause`; a
 *   `VerifierUnavailableError` is passed on unchanged. Throw `InvalidTokenError` for invalid
 *   tokens, or they are reported as an outage (503), never accepted;
 * - the `AuthInfo` is validated and normalised like a provider record ({@link fromAuthInfo}); a
 *   malformed one (or one for another token) is unavailable with reason `invalid_response`;
 * - expiry (by the injected clock), `audience` (against `AuthInfo.resource` alone: `extra`
 *   never supplies a security claim; required, `null` opts out) and `requiredScopes` are checked
 *   here, whatever the SDK verifier did.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for a verifier without `verifyAccessToken` or a bad
 * option.
 * @example
 * ```ts
 * const verifier = fromMcpTokenVerifier(sdkProvider, { audience: 'https://mcp.example.com/mcp' })
 * ```
 */
export function fromMcpTokenVerifier(
  verifier: McpTokenVerifier,
  options: FromMcpTokenVerifierOptions,
): TokenVerifier {
  if (typeof (verifier as Partial<McpTokenVerifier> | null)?.verifyAccessToken !== 'function') {
    throw invalidArgument('verifier', 'must be an object with a verifyAccessToken(token) method')
  }
  const resolved = resolveOptions(options)
  return defineVerifier('mcp-sdk', async (token, { signal, senderConstraint }) => {
    let authInfo: unknown
    try {
      authInfo = await raceAbort(Promise.resolve(verifier.verifyAccessToken(token)), signal)
    } catch (error) {
      if (signal?.aborted) throw error
      if (isSdkInvalidTokenError(error)) {
        return new Refusal('rejected', 'The access token is invalid')
      }
      if (isVerifierUnavailable(error)) throw error
      throw new VerifierUnavailableError('The MCP SDK token verifier failed', {
        reason: 'verifier_error',
        cause: error,
      })
    }
    const accessToken = accessTokenFromAuthInfo(authInfo)
    if (accessToken instanceof RecordProblem) {
      throw new VerifierUnavailableError(
        `The MCP SDK token verifier answered a malformed AuthInfo: ${accessToken.message}`,
        { reason: 'invalid_response' },
      )
    }
    if (accessToken.token !== token) {
      throw new VerifierUnavailableError(
        'The MCP SDK token verifier answered a malformed AuthInfo: it is for a different token',
        { reason: 'invalid_response' },
      )
    }
    return judge(accessToken, resolved, senderConstraint) ?? accessToken
  })
}

const loadSdkErrors = createSdkErrorLoader((specifier) => import(specifier))

// requireBearerAuth writes the message into `error_description="..."` of WWW-Authenticate without
// escaping; keep it to the RFC 6750 §3 character set so it can neither break nor split the header.
function headerSafe(message: string): string {
  return message.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '?')
}

/**
 * Turns any bearerkit `TokenVerifier` into the MCP TypeScript SDK's `OAuthTokenVerifier`, so it
 * plugs into the SDK's own `requireBearerAuth({ verifier })` (Express). What the middleware of SDK
 * 1.x then answers:
 *
 * - valid token: `verifyAccessToken` resolves to {@link toAuthInfo}'s `AuthInfo`; the middleware
 *   still applies `requiredScopes` (403 `insufficient_scope`), `expectedResource` (401), and
 *   refuses a token WITHOUT `expiresAt` (401 "Token has no expiration time") or past it;
 * - refused token (`null`): throws the SDK's `InvalidTokenError` with the refusal's description
 *   -> 401, `WWW-Authenticate: Bearer error="invalid_token", error_description="..."`, JSON body
 *   `{ error: 'invalid_token', error_description }`;
 * - verifier unavailable (`VerifierUnavailableError`), or any other failure: throws the SDK's
 *   `ServerError` (the original error as `cause`) -> 500 `{ error: 'server_error' }`. The SDK
 *   middleware has no 503 and sends no `Retry-After`; use `@bearerkit/fastify`, or your own
 *   middleware, where a 503 matters. (`TemporarilyUnavailableError` is not used: the middleware
 *   answers 400 for it, which would blame the client.)
 *
 * The SDK is an optional peer dependency: its error classes are imported lazily on the first
 * refusal or failure (`options.errors` overrides that, see {@link ToMcpTokenVerifierOptions}).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 RFC 6750 §3.1
 * @example
 * ```ts
 * import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js'
 * app.use('/mcp', requireBearerAuth({ verifier: toMcpTokenVerifier(jwtVerifier) }))
 * ```
 */
export function toMcpTokenVerifier(
  verifier: TokenVerifier,
  options: ToMcpTokenVerifierOptions = {},
): McpTokenVerifier {
  if (typeof (verifier as Partial<TokenVerifier> | null)?.verifyToken !== 'function') {
    throw invalidArgument('verifier', 'must be a TokenVerifier (an object with verifyToken)')
  }
  const given = options.errors
  if (given !== undefined && !isErrorClasses(given)) {
    throw invalidArgument(
      'options.errors',
      'must hold the SDK classes InvalidTokenError and ServerError',
    )
  }
  const errors = (): Promise<McpErrorClasses> =>
    given === undefined ? loadSdkErrors() : Promise.resolve(given)
  return {
    async verifyAccessToken(token: string): Promise<McpAuthInfo> {
      let refusal: Refusal | undefined
      let accessToken
      try {
        accessToken = await verifier.verifyToken(token, { onRefusal: (r) => (refusal = r) })
      } catch (cause) {
        const { ServerError } = await errors()
        const error = new ServerError(
          isVerifierUnavailable(cause)
            ? 'The token verifier is unavailable'
            : 'The token verifier failed',
        )
        Object.defineProperty(error, 'cause', { value: cause, configurable: true, writable: true })
        throw error
      }
      if (accessToken === null) {
        const { InvalidTokenError } = await errors()
        throw new InvalidTokenError(
          headerSafe(refusal?.description ?? 'The access token is invalid'),
        )
      }
      return toAuthInfo(accessToken)
    },
  }
}
