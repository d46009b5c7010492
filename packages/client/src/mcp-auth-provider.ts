import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js'
import { invalidArgument, readOptionalString } from '@bearerkit/core'
import { OAuthClientError } from './errors.js'
import type { OAuthSession } from './session.js'

/**
 * An `OAuthClientProvider` for the MCP TypeScript SDK (1.x) whose work is done by an
 * {@link OAuthSession}, plus the `fetch` that makes it so. Pass both to the transport.
 */
export interface McpAuthProvider extends OAuthClientProvider {
  /** Give this to the transport as its `fetch`: it answers challenges with the session. */
  readonly fetch: typeof fetch
  readonly session: OAuthSession
}

/** Options of {@link createMcpAuthProvider}. */
export interface McpAuthProviderOptions {
  /** `client_name` reported to the SDK (it does not register with it). Default `bearerkit`. */
  clientName?: string
}

function notWired(): OAuthClientError {
  return new OAuthClientError(
    'ERR_CALLBACK_FAILED',
    "The MCP SDK started its own authorization flow: give the transport this provider's fetch (new StreamableHTTPClientTransport(url, { authProvider, fetch: authProvider.fetch }))",
  )
}

/**
 * Plugs an {@link OAuthSession} into the MCP TypeScript SDK's `Client` transports as their
 * `authProvider`. The SDK's own `auth()` cannot be told which scope a 403 asked for when no
 * browser is involved, and it makes its token requests itself; so the work happens in the
 * provider's `fetch`, which the transport must also use: it answers a 401, or a 403
 * `insufficient_scope`, by authorizing with the session (discovery, registration, the grant, the
 * challenge's scope) and retrying, a bounded number of times. The provider's `tokens()` hands the
 * SDK the session's current access token (never the refresh token, which stays with the session
 * and its issuer). Should the SDK start its own flow anyway, the provider refuses
 * (`ERR_CALLBACK_FAILED`) instead of letting a second implementation act.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization MCP authorization
 * @example
 * ```ts
 * const session = createOAuthSession({ resource: url, client, grant: { type: 'client_credentials' } })
 * const authProvider = createMcpAuthProvider(session)
 * const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider, fetch: authProvider.fetch })
 * await new Client({ name: 'app', version: '1.0.0' }).connect(transport)
 * ```
 */
export function createMcpAuthProvider(
  session: OAuthSession,
  options: McpAuthProviderOptions = {},
): McpAuthProvider {
  if (typeof session !== 'object' || session === null || typeof session.fetch !== 'function') {
    throw invalidArgument('session', 'must be an OAuthSession (createOAuthSession)')
  }
  const clientName = readOptionalString('options.clientName', options.clientName) ?? 'bearerkit'
  return {
    session,
    fetch: session.fetch,
    get redirectUrl(): undefined {
      return undefined
    },
    get clientMetadata(): OAuthClientMetadata {
      return { client_name: clientName, redirect_uris: [] }
    },
    clientInformation(): OAuthClientInformationMixed | undefined {
      const client = session.state.client?.client
      return client === undefined ? undefined : { client_id: client.clientId }
    },
    tokens(): OAuthTokens | undefined {
      const token = session.currentAccessToken()
      return token === undefined ? undefined : { access_token: token, token_type: 'Bearer' }
    },
    saveTokens(): void {
      // The session keeps its tokens; the SDK never obtains any through this provider.
    },
    discoveryState(): never {
      throw notWired()
    },
    redirectToAuthorization(): never {
      throw notWired()
    },
    saveCodeVerifier(): never {
      throw notWired()
    },
    codeVerifier(): never {
      throw notWired()
    },
  }
}
