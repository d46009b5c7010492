import { readFile } from 'node:fs/promises'
import {
  discoverAuthorizationServerMetadata,
  discoverProtectedResource,
  probeResource,
  requestClientCredentials,
  type AuthorizationServerDiscovery,
  type ProbeResult,
  type ProtectedResourceDiscovery,
} from '@bearerkit/client'
import { isScopeToken } from '@bearerkit/core'
import { EXIT, type CliIo } from './io.js'
import { parse, readTimeout } from './lib/args.js'
import { challengeSyntaxError } from './lib/challenge-syntax.js'
import { renderCheckText } from './lib/check-text.js'
import { Checklist } from './lib/checklist.js'
import { fingerprint } from './lib/fingerprint.js'
import { safeJson, safeText } from './lib/safe-text.js'
import { painter } from './lib/style.js'
import { UsageError } from './lib/usage-error.js'

export type { CheckReport, CheckResult, CheckStatus } from './lib/checklist.js'

export const CHECK_HELP = `Usage: bearerkit check <resource-url> [options]

Walks through what an MCP client does with a protected resource and judges each step against
its specification: the 401 and its WWW-Authenticate challenge (RFC 6750, RFC 9110), the
protected resource metadata (RFC 9728), each authorization server's metadata (RFC 8414, OpenID
Connect Discovery), and the resource server's error behaviour. With client credentials it also
obtains a token for the resource (RFC 6749 §4.4 with RFC 8707 resource) and calls the resource
with it. Tokens are never printed, only fingerprints (first 8 characters of their base64url
SHA-256).

Options:
  --client-id <id>          client for the client credentials grant
  --client-secret <secret>  its secret (prefer BEARERKIT_CLIENT_SECRET: flags land in history)
  --scope <"a b">           scope to request; the token must be enough for the resource
  --small-scope <"a">       a scope too small for the resource: expect 403 insufficient_scope
  --token-file <path>       use this access token instead of requesting one
  --probe-url <url>         where the MCP requests (POST) go, when that is not the resource
                            URL itself; same origin only (default: the resource URL)
  --timeout <ms>            deadline of each request (default 5000)
  --json                    machine-readable report (see check-report.schema.json)
  -h, --help                show this help

Examples:
  bearerkit check https://mcp.example.com/mcp
  BEARERKIT_CLIENT_SECRET=... bearerkit check http://127.0.0.1:3000/mcp \\
    --client-id svc --scope mcp:tools --small-scope mcp:admin
  bearerkit check https://mcp.example.com/mcp --token-file token.txt --json > report.json

Exit codes: 0 no check failed (warnings allowed), 1 a check failed, 64 usage error.
`

const OPTIONS = {
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  scope: { type: 'string' },
  'small-scope': { type: 'string' },
  'token-file': { type: 'string' },
  'probe-url': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

// A syntactically valid token that no authorization server issued: RFC 6750 §2.1 b64token.
const BOGUS_TOKEN = 'bearerkit-check.not-a-token.x'

// The metadata decides how many authorization servers it lists, and each one checked may cost a
// whole --timeout: a 512 KiB document lists some 20,000. The first few are what clients use.
const MAX_AUTHORIZATION_SERVERS = 5

interface Settings {
  resource: string
  /** Where the requests go: the resource, or --probe-url on the same origin. */
  probeUrl: string
  timeout: number
  clientId: string | undefined
  clientSecret: string | undefined
  scope: string | undefined
  smallScope: string | undefined
  tokenFile: string | undefined
  json: boolean
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    const status = (error as { status?: unknown }).status
    const parts = [typeof code === 'string' ? `${code}: ${error.message}` : error.message]
    if (typeof status === 'number') parts.push(`(HTTP ${status})`)
    return parts.join(' ')
  }
  return String(error)
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

function isLoopback(url: URL): boolean {
  return url.hostname === '127.0.0.1' || url.hostname === '[::1]' || url.hostname === 'localhost'
}

/**
 * Runs every check against a resource and returns the checklist. Exported for callers that want
 * the results as data (a test kit, a CI step); `bearerkit check` renders them.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9728 RFC 9728
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization MCP authorization
 */
async function runChecks(settings: Settings, list: Checklist): Promise<void> {
  const { resource, timeout } = settings
  const request = { timeout }

  // 1. What an MCP client sees first: a request without credentials.
  list.section = 'Resource'
  let first: ProbeResult | undefined
  try {
    first = await list.step('unauthenticated request', () =>
      probeResource(settings.probeUrl, request),
    )
  } catch (error) {
    list.add(
      'resource.reachable',
      'fail',
      'The resource answers',
      'RFC 9110 §15',
      describeError(error),
    )
  }
  let challengeHeader: string | null = null
  if (first !== undefined) {
    challengeHeader = first.wwwAuthenticate
    checkFirstResponse(list, first)
  }

  // 2. Protected resource metadata.
  list.section = 'Protected resource metadata'
  let discovery: ProtectedResourceDiscovery | undefined
  try {
    discovery = await list.step('protected resource metadata', () =>
      discoverProtectedResource(resource, {
        ...request,
        wwwAuthenticate: challengeHeader,
        legacyFallback: false,
      }),
    )
  } catch (error) {
    const code = codeOf(error)
    const ref =
      code === 'ERR_RESOURCE_MISMATCH'
        ? 'RFC 9728 §3.3'
        : code === 'ERR_NO_AUTHORIZATION_SERVER'
          ? 'RFC 9728 §2'
          : code === 'ERR_RESOURCE_METADATA_NOT_FOUND'
            ? 'RFC 9728 §3.1'
            : 'RFC 9728 §3.2'
    const title =
      code === 'ERR_RESOURCE_MISMATCH'
        ? 'The metadata names this resource'
        : code === 'ERR_NO_AUTHORIZATION_SERVER'
          ? 'The metadata lists authorization servers'
          : 'The metadata is found and is a JSON object'
    list.add('prm.found', 'fail', title, ref, describeError(error))
  }
  if (discovery !== undefined) checkResourceMetadata(list, discovery, resource)

  // 3. Each authorization server's metadata.
  const servers: AuthorizationServerDiscovery[] = []
  const issuers = discovery?.authorizationServers ?? []
  for (const issuer of issuers.slice(0, MAX_AUTHORIZATION_SERVERS)) {
    list.section = `Authorization server ${issuer}`
    try {
      const found = await list.step(`metadata of ${issuer}`, () =>
        discoverAuthorizationServerMetadata(issuer, request),
      )
      servers.push(found)
      checkServerMetadata(list, found)
    } catch (error) {
      const code = codeOf(error)
      list.add(
        'as.found',
        'fail',
        code === 'ERR_ISSUER_MISMATCH'
          ? 'The metadata names this issuer'
          : 'The metadata is found and valid',
        code === 'ERR_ISSUER_MISMATCH'
          ? 'RFC 8414 §3.3'
          : code === 'ERR_AS_METADATA_NOT_FOUND'
            ? 'RFC 8414 §3.1'
            : 'RFC 8414 §3.2',
        describeError(error),
      )
    }
  }

  // 4. A token, and what the resource does with it.
  list.section = 'Access token'
  const token = await obtainToken(list, settings, servers, discovery, settings.scope, 'token')
  if (token !== undefined) {
    const answer = await probeOrFail(list, 'token.accepted', settings, token)
    if (answer !== undefined) {
      if (answer.status >= 200 && answer.status < 300) {
        list.add(
          'token.accepted',
          'pass',
          'An authenticated request is accepted',
          'RFC 6750 §2.1',
          `HTTP ${answer.status}`,
        )
      } else {
        const error = answer.challenge?.error
        const [ref, hint] =
          error === 'insufficient_scope'
            ? [
                'RFC 6750 §3.1',
                `: the resource needs scope "${answer.challenge?.scope ?? ''}" (use --scope)`,
              ]
            : answer.status === 401
              ? ['RFC 8707 §2', ': is the token issued for this resource (aud)?']
              : ['RFC 9110 §15', ': is this where MCP requests go? (use --probe-url)']
        list.add(
          'token.accepted',
          'fail',
          'An authenticated request is accepted',
          ref,
          `HTTP ${answer.status}${error === undefined ? '' : ` ${error}`}${hint}`,
        )
      }
    }
  } else if (settings.clientId === undefined && settings.tokenFile === undefined) {
    list.add(
      'token.accepted',
      'skip',
      'An authenticated request is accepted',
      'RFC 6750 §2.1',
      'no credentials: pass --client-id (and a secret) or --token-file',
    )
  }
  if (settings.smallScope !== undefined) {
    const small = await obtainToken(
      list,
      settings,
      servers,
      discovery,
      settings.smallScope,
      'token.small',
    )
    if (small !== undefined) {
      const answer = await probeOrFail(list, 'token.insufficient_scope', settings, small)
      if (answer !== undefined) checkInsufficientScope(list, answer)
    }
  }

  // 5. Error behaviour.
  list.section = 'Error behaviour'
  await checkErrors(list, settings)
}

function checkFirstResponse(list: Checklist, first: ProbeResult): void {
  if (first.status === 401) {
    list.add('resource.401', 'pass', 'A request without a token gets 401', 'RFC 6750 §3')
  } else {
    list.add(
      'resource.401',
      'fail',
      'A request without a token gets 401',
      'RFC 6750 §3',
      first.status >= 200 && first.status < 300
        ? `HTTP ${first.status}: the resource is not protected`
        : `HTTP ${first.status}`,
    )
  }
  const header = first.wwwAuthenticate
  if (header === null) {
    list.add(
      'challenge.present',
      'fail',
      'The 401 carries WWW-Authenticate',
      'RFC 9110 §11.6.1',
      'no WWW-Authenticate header',
    )
    return
  }
  const syntax = challengeSyntaxError(header)
  if (syntax === undefined) {
    list.add('challenge.syntax', 'pass', 'WWW-Authenticate is well formed', 'RFC 9110 §11.6.1')
  } else {
    list.add(
      'challenge.syntax',
      'fail',
      'WWW-Authenticate is well formed',
      'RFC 9110 §11.6.1',
      syntax,
    )
  }
  const challenge = first.challenge
  if (challenge === undefined) {
    list.add('challenge.bearer', 'fail', 'There is a Bearer challenge', 'RFC 6750 §3')
    return
  }
  if (challenge.error === undefined) {
    list.add('challenge.bearer', 'pass', 'There is a Bearer challenge', 'RFC 6750 §3')
  } else {
    // RFC 6750 §3.1: without credentials the server SHOULD NOT send an error code.
    list.add(
      'challenge.bearer',
      'warn',
      'There is a Bearer challenge without an error code',
      'RFC 6750 §3.1',
      `error="${challenge.error}" although no token was sent`,
    )
  }
  if (challenge.resourceMetadata === undefined) {
    list.add(
      'challenge.resource_metadata',
      'fail',
      'The challenge has resource_metadata',
      'RFC 9728 §5.1',
      'MCP clients find the authorization server through it; they fall back to guessing the well-known URL',
    )
  } else {
    list.add(
      'challenge.resource_metadata',
      'pass',
      'The challenge has resource_metadata',
      'RFC 9728 §5.1',
      challenge.resourceMetadata,
    )
  }
}

function checkResourceMetadata(
  list: Checklist,
  discovery: ProtectedResourceDiscovery,
  resource: string,
): void {
  list.add(
    'prm.found',
    'pass',
    'The metadata is found',
    discovery.source === 'www-authenticate' ? 'RFC 9728 §5.1' : 'RFC 9728 §3.1',
    `${discovery.metadataUrl ?? ''} (${discovery.source === 'www-authenticate' ? 'from the challenge' : discovery.source === 'path' ? 'well-known, path inserted' : 'well-known at the root'})`,
  )
  const metadata = discovery.metadata ?? { resource: '' }
  if (metadata.resource === resource) {
    list.add('prm.resource', 'pass', 'resource is exactly the URL checked', 'RFC 9728 §3.3')
  } else {
    // The client accepts the origin for metadata at the root; an MCP client then asks for a
    // token for the origin, which the server must accept as its audience.
    list.add(
      'prm.resource',
      'warn',
      'resource is exactly the URL checked',
      'RFC 9728 §3.3',
      `resource is ${metadata.resource}: tokens will be requested for it, not for ${resource}`,
    )
  }
  const servers = discovery.authorizationServers
  const unchecked = servers.length - MAX_AUTHORIZATION_SERVERS
  list.add(
    'prm.authorization_servers',
    'pass',
    'authorization_servers is present',
    'RFC 9728 §2',
    `${servers.slice(0, MAX_AUTHORIZATION_SERVERS).join(', ')}${unchecked > 0 ? ` and ${unchecked} more, not checked (only the first ${MAX_AUTHORIZATION_SERVERS} are)` : ''}`,
  )
  const methods = metadata.bearer_methods_supported
  if (methods === undefined) {
    list.add(
      'prm.bearer_methods_supported',
      'pass',
      'bearer_methods_supported is sane',
      'RFC 9728 §2',
      'absent (the Authorization header)',
    )
  } else if (!Array.isArray(methods) || !methods.every((m) => typeof m === 'string')) {
    list.add(
      'prm.bearer_methods_supported',
      'fail',
      'bearer_methods_supported is sane',
      'RFC 9728 §2',
      'not an array of strings',
    )
  } else if (methods.includes('query')) {
    list.add(
      'prm.bearer_methods_supported',
      'fail',
      'bearer_methods_supported is sane',
      'RFC 6750 §2.3',
      'lists "query": tokens in URLs leak into logs and history; MCP forbids them',
    )
  } else if (!methods.includes('header')) {
    list.add(
      'prm.bearer_methods_supported',
      'fail',
      'bearer_methods_supported is sane',
      'RFC 9728 §2',
      `does not list "header", the only method MCP clients use (${methods.join(', ')})`,
    )
  } else {
    list.add(
      'prm.bearer_methods_supported',
      'pass',
      'bearer_methods_supported is sane',
      'RFC 9728 §2',
      methods.join(', '),
    )
  }
  const scopes = discovery.scopesSupported
  if (scopes === undefined) {
    list.add(
      'prm.scopes_supported',
      'warn',
      'scopes_supported is present',
      'RFC 9728 §2',
      'absent: clients cannot tell which scopes to ask for before a 403',
    )
  } else {
    const bad = scopes.filter((scope) => !isScopeToken(scope))
    list.add(
      'prm.scopes_supported',
      bad.length === 0 ? 'pass' : 'fail',
      'scopes_supported is sane',
      bad.length === 0 ? 'RFC 9728 §2' : 'RFC 6749 §3.3',
      bad.length === 0
        ? scopes.join(' ') || '(empty)'
        : `${bad.length} entries are not RFC 6749 scope tokens`,
    )
  }
}

function checkServerMetadata(list: Checklist, found: AuthorizationServerDiscovery): void {
  const { metadata } = found
  list.add(
    'as.found',
    'pass',
    'The metadata is found and names this issuer',
    found.source === 'openid-configuration' ? 'OpenID Connect Discovery §4' : 'RFC 8414 §3.3',
    `${found.metadataUrl ?? ''}${found.source === 'openid-configuration' ? ' (OpenID Connect fallback)' : ''}`,
  )
  const issuer = new URL(found.issuer)
  if (issuer.protocol === 'https:') {
    list.add('as.https', 'pass', 'The issuer uses https', 'RFC 8414 §2')
  } else {
    // The client refuses http anywhere but loopback, so only the loopback case reaches here.
    list.add(
      'as.https',
      'warn',
      'The issuer uses https',
      'RFC 8414 §2',
      `http on loopback (${issuer.host}): fine for development, never in production`,
    )
  }
  const interactive = metadata.authorization_endpoint !== undefined
  if (!interactive) {
    // RFC 8414 §2: authorization_endpoint is REQUIRED unless no supported grant type uses it, and
    // grant_types_supported defaults to ["authorization_code", "implicit"]. A server that says it
    // only has grants without one (client credentials) is right to have none: not a warning.
    // (The client's discovery has checked that it is an array of strings when present.)
    const listed = metadata.grant_types_supported
    const redirecting = (listed ?? ['authorization_code', 'implicit']).filter(
      (grant) => grant === 'authorization_code' || grant === 'implicit',
    )
    if (listed !== undefined && redirecting.length === 0) {
      list.add(
        'as.authorization_endpoint',
        'skip',
        'There is an authorization endpoint',
        'RFC 8414 §2',
        `none needed: grant_types_supported is ${listed.join(', ') || 'empty'}; MCP clients acting for a user cannot sign in here`,
      )
    } else {
      list.add(
        'as.authorization_endpoint',
        'warn',
        'There is an authorization endpoint',
        'RFC 8414 §2',
        listed === undefined
          ? 'none, and no grant_types_supported (authorization_code by default, which needs one); MCP clients acting for a user cannot sign in'
          : `none, though grant_types_supported lists ${redirecting.join(', ')}; MCP clients acting for a user cannot sign in`,
      )
    }
  }
  const pkce = metadata.code_challenge_methods_supported
  if (!interactive) {
    list.add(
      'as.pkce',
      'skip',
      'PKCE S256 is supported',
      'RFC 7636 §4.2',
      'no authorization endpoint',
    )
  } else if (pkce?.includes('S256') === true) {
    list.add('as.pkce', 'pass', 'PKCE S256 is supported', 'RFC 7636 §4.2')
  } else {
    list.add(
      'as.pkce',
      'fail',
      'PKCE S256 is supported',
      'RFC 7636 §4.2',
      pkce === undefined
        ? 'code_challenge_methods_supported is absent: MCP clients must refuse to proceed'
        : `code_challenge_methods_supported is ${pkce.join(', ') || 'empty'}`,
    )
  }
  if (metadata.registration_endpoint !== undefined) {
    list.add(
      'as.registration',
      'pass',
      'Clients can register',
      'RFC 7591 §3',
      'registration_endpoint',
    )
  } else if (metadata.client_id_metadata_document_supported === true) {
    list.add(
      'as.registration',
      'pass',
      'Clients can register',
      'MCP client ID metadata documents',
      'client_id_metadata_document_supported',
    )
  } else {
    list.add(
      'as.registration',
      interactive ? 'warn' : 'skip',
      'Clients can register',
      'RFC 7591 §3',
      interactive
        ? 'neither registration_endpoint nor client_id_metadata_document_supported: clients must be registered beforehand'
        : 'no authorization endpoint: clients are registered beforehand',
    )
  }
  const methods = metadata.token_endpoint_auth_methods_supported
  list.add(
    'as.token_endpoint_auth_methods',
    metadata.token_endpoint === undefined ? 'fail' : 'pass',
    'The token endpoint and its client authentication methods',
    'RFC 8414 §2',
    metadata.token_endpoint === undefined
      ? 'no token_endpoint'
      : methods === undefined
        ? 'absent (client_secret_basic by default)'
        : methods.join(', '),
  )
  const dpop = metadata.dpop_signing_alg_values_supported
  if (dpop !== undefined) {
    const algorithms = Array.isArray(dpop) ? (dpop as unknown[]) : []
    const sane =
      algorithms.length > 0 &&
      algorithms.every((alg) => typeof alg === 'string' && alg !== 'none' && !alg.startsWith('HS'))
    list.add(
      'as.dpop',
      sane ? 'pass' : 'fail',
      'DPoP algorithms are asymmetric',
      'RFC 9449 §5.1',
      sane
        ? (algorithms as string[]).join(', ')
        : 'dpop_signing_alg_values_supported must be a non-empty list without none or HS*',
    )
  }
}

async function obtainToken(
  list: Checklist,
  settings: Settings,
  servers: readonly AuthorizationServerDiscovery[],
  discovery: ProtectedResourceDiscovery | undefined,
  scope: string | undefined,
  id: string,
): Promise<string | undefined> {
  if (settings.tokenFile !== undefined && id === 'token') {
    const text = await readFile(settings.tokenFile, 'utf8').then(
      (content) => content.trim(),
      () => {
        throw new UsageError('cannot read --token-file')
      },
    )
    list.add(
      `${id}.file`,
      text === '' ? 'fail' : 'pass',
      'A token is read from --token-file',
      'RFC 6750 §2.1',
      text === '' ? 'the file is empty' : `token ${fingerprint(text)}`,
    )
    return text === '' ? undefined : text
  }
  // --small-scope without --client-id is refused as a usage error, so only `token` gets here.
  if (settings.clientId === undefined) return undefined
  const server = servers[0]
  if (server === undefined || discovery === undefined) {
    list.add(
      `${id}.request`,
      'skip',
      'A client credentials token is issued for the resource',
      'RFC 6749 §4.4',
      'no usable authorization server',
    )
    return undefined
  }
  const title = `A client credentials token is issued for the resource${scope === undefined ? '' : ` (scope "${scope}")`}`
  try {
    const tokens = await list.step('token request', () =>
      requestClientCredentials(
        {
          server: server.metadata,
          client: {
            clientId: settings.clientId as string,
            ...(settings.clientSecret === undefined ? {} : { clientSecret: settings.clientSecret }),
          },
          timeout: settings.timeout,
        },
        { resource: discovery.resource, ...(scope === undefined ? {} : { scope }) },
      ),
    )
    list.add(
      `${id}.request`,
      'pass',
      title,
      'RFC 8707 §2',
      `token ${fingerprint(tokens.accessToken)}${tokens.scope === undefined ? '' : `, scope "${tokens.scope}"`}, resource ${discovery.resource}`,
    )
    return tokens.accessToken
  } catch (error) {
    list.add(`${id}.request`, 'fail', title, 'RFC 6749 §5.2', describeError(error))
    return undefined
  }
}

async function probeOrFail(
  list: Checklist,
  id: string,
  settings: Settings,
  token: string,
): Promise<ProbeResult | undefined> {
  try {
    return await list.step('authenticated request', () =>
      probeResource(settings.probeUrl, { timeout: settings.timeout, token }),
    )
  } catch (error) {
    list.add(id, 'fail', 'The resource answers', 'RFC 9110 §15', describeError(error))
    return undefined
  }
}

function checkInsufficientScope(list: Checklist, answer: ProbeResult): void {
  const title = 'A token with too small a scope gets 403 insufficient_scope with scope'
  const challenge = answer.challenge
  if (answer.status !== 403 || challenge?.error !== 'insufficient_scope') {
    list.add(
      'token.insufficient_scope',
      'fail',
      title,
      'RFC 6750 §3.1',
      `HTTP ${answer.status}${challenge?.error === undefined ? '' : ` ${challenge.error}`}`,
    )
  } else if (challenge.scope === undefined) {
    list.add(
      'token.insufficient_scope',
      'fail',
      title,
      'RFC 6750 §3.1',
      'no scope in the challenge: the client cannot step up',
    )
  } else {
    list.add(
      'token.insufficient_scope',
      'pass',
      title,
      'RFC 6750 §3.1',
      `scope="${challenge.scope}"`,
    )
  }
}

async function checkErrors(list: Checklist, settings: Settings): Promise<void> {
  const { probeUrl: resource, timeout } = settings
  const send = (label: string, url: string, token?: string): Promise<ProbeResult | undefined> =>
    list
      .step(label, () => probeResource(url, { timeout, ...(token === undefined ? {} : { token }) }))
      .catch((error: unknown) => {
        list.add(
          `errors.${label}`,
          'fail',
          'The resource answers',
          'RFC 9110 §15',
          describeError(error),
        )
        return undefined
      })

  // RFC 6750 §2.1: b64token has no spaces, so "Bearer a b" is a malformed request.
  const malformed = await send('malformed', resource, 'not a b64token')
  if (malformed !== undefined) {
    const title = 'A malformed Authorization header gets 400 invalid_request'
    const error = malformed.challenge?.error
    if (malformed.status === 400) {
      list.add('errors.malformed', 'pass', title, 'RFC 6750 §3.1')
    } else {
      list.add(
        'errors.malformed',
        malformed.status === 401 ? 'warn' : 'fail',
        title,
        'RFC 6750 §3.1',
        `HTTP ${malformed.status}${error === undefined ? '' : ` ${error}`}`,
      )
    }
  }

  const bogus = await send('invalid_token', resource, BOGUS_TOKEN)
  if (bogus !== undefined) {
    const title = 'An invalid token gets 401 invalid_token'
    const error = bogus.challenge?.error
    if (bogus.status === 401 && error === 'invalid_token') {
      list.add('errors.invalid_token', 'pass', title, 'RFC 6750 §3.1')
    } else {
      list.add(
        'errors.invalid_token',
        bogus.status === 401 ? 'warn' : 'fail',
        title,
        'RFC 6750 §3.1',
        `HTTP ${bogus.status}${error === undefined ? ' without an error code' : ` ${error}`}`,
      )
    }
  }

  // A bogus token, never a real one: a real token in a URL would land in the server's logs. A
  // server that reads the query answers invalid_token for it; one that ignores it answers as if
  // no token was sent (or refuses the request with 400).
  const url = new URL(resource)
  url.searchParams.set('access_token', BOGUS_TOKEN)
  const query = await send('query', url.href)
  if (query !== undefined) {
    const title = 'A token in the query string is refused'
    const error = query.challenge?.error
    if (query.status >= 200 && query.status < 300) {
      list.add('errors.query', 'fail', title, 'RFC 6750 §2.3', `HTTP ${query.status}: accepted`)
    } else if (query.status === 400 || (query.status === 401 && error === undefined)) {
      list.add('errors.query', 'pass', title, 'RFC 6750 §2.3', `HTTP ${query.status}`)
    } else {
      list.add(
        'errors.query',
        'fail',
        title,
        'RFC 6750 §2.3',
        `HTTP ${query.status}${error === undefined ? '' : ` ${error}`}: the server read the token from the query`,
      )
    }
  }
}

function readSettings(argv: readonly string[], io: CliIo): Settings | 'help' {
  const { values, positionals } = parse(argv, OPTIONS)
  if (values.help === true) return 'help'
  if (positionals.length !== 1) throw new UsageError('check takes one resource URL')
  const resource = positionals[0] as string
  let url: URL
  try {
    url = new URL(resource)
  } catch {
    throw new UsageError('the resource must be an absolute URL')
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) {
    throw new UsageError('the resource must be an https URL (http only on loopback)')
  }
  let probeUrl = resource
  if (values['probe-url'] !== undefined) {
    let probe: URL
    try {
      probe = new URL(values['probe-url'])
    } catch {
      throw new UsageError('--probe-url must be an absolute URL')
    }
    // A token issued for the resource is only ever sent to the resource's origin.
    if (probe.origin !== url.origin) {
      throw new UsageError('--probe-url must be on the origin of the resource')
    }
    probeUrl = probe.href
  }
  const clientSecret = values['client-secret'] ?? io.env.BEARERKIT_CLIENT_SECRET
  if (values['token-file'] !== undefined && values['client-id'] !== undefined) {
    throw new UsageError('--token-file and --client-id exclude each other')
  }
  if (values['small-scope'] !== undefined && values['client-id'] === undefined) {
    throw new UsageError('--small-scope needs --client-id: the token is requested for it')
  }
  return {
    resource,
    probeUrl,
    timeout: readTimeout(values.timeout, 5000),
    clientId: values['client-id'],
    clientSecret: clientSecret === '' ? undefined : clientSecret,
    scope: values.scope,
    smallScope: values['small-scope'],
    tokenFile: values['token-file'],
    json: values.json === true,
  }
}

/**
 * `bearerkit check <resource-url>`: see {@link CHECK_HELP}.
 *
 * @returns 0 when no check failed, 1 otherwise, 64 for a usage error
 */
export async function checkCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const settings = readSettings(argv, io)
  if (settings === 'help') {
    io.stdout.write(CHECK_HELP)
    return EXIT.ok
  }
  // Progress goes to stderr and only to a terminal: stdout stays clean for pipes and --json.
  // Labels name issuers from the resource's metadata: shown inert, like the report.
  const progress = io.isTTY
    ? (label: string | undefined): void => {
        io.stderr.write(label === undefined ? '\r\x1b[K' : `\r\x1b[K… ${safeText(label)}`)
      }
    : undefined
  const list = new Checklist(progress)
  await runChecks(settings, list)
  const report = list.report(settings.resource)
  io.stdout.write(settings.json ? `${safeJson(report)}\n` : renderCheckText(report, painter(io)))
  return report.ok ? EXIT.ok : EXIT.failed
}
