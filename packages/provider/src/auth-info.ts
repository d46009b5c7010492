import { invalidArgument, type AccessToken } from '@bearerkit/core'
import { comparableAudience } from './lib/audience.js'
import { RecordProblem, accessTokenFromRecord, isObject } from './lib/record.js'

/**
 * The MCP TypeScript SDK's `AuthInfo` (`@modelcontextprotocol/sdk/server/auth/types.js`),
 * declared here structurally so that this package's types do not need the SDK installed. The
 * SDK's own `AuthInfo` is assignable to it and back.
 */
export interface McpAuthInfo {
  token: string
  clientId: string
  scopes: string[]
  /** Seconds since the epoch. */
  expiresAt?: number
  /** RFC 8707 resource the token is valid for. */
  resource?: URL
  extra?: Record<string, unknown>
}

/**
 * What {@link toAuthInfo} puts in `AuthInfo.extra`, and what {@link fromAuthInfo} reads back:
 * the `AccessToken` members `AuthInfo` has no place for.
 */
export interface BearerkitAuthInfoExtra {
  subject?: string
  issuer?: string
  audience?: readonly string[]
  /** Every claim, frozen and inheriting nothing, as the verifier returned them. */
  claims: Readonly<Record<string, unknown>>
}

/**
 * A bearerkit `AccessToken` as the MCP TypeScript SDK's `AuthInfo`: `token`, `clientId`,
 * `scopes` (a fresh mutable array), `expiresAt` (seconds), `resource` as a `URL` (the token's
 * `resource`, else its audience when it has exactly one; left out when that is not an absolute
 * URL or there is none: the SDK's `expectedResource` check then refuses it), and `extra` =
 * `{ subject, issuer, audience, claims }` ({@link BearerkitAuthInfoExtra}; `audience` there is
 * informative only, {@link fromAuthInfo} never reads it).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2 RFC 8707 §2
 * @example
 * ```ts
 * req.auth = toAuthInfo(accessToken) // what the SDK's handlers read as extra.authInfo
 * ```
 */
export function toAuthInfo(accessToken: AccessToken): McpAuthInfo {
  // Member by member rather than a literal that starts with conditional spreads: V8 (Node 20)
  // builds such a literal through a slow path, over a microsecond per request here.
  const extra = {} as BearerkitAuthInfoExtra
  if (accessToken.subject !== undefined) extra.subject = accessToken.subject
  if (accessToken.issuer !== undefined) extra.issuer = accessToken.issuer
  if (accessToken.audience !== undefined) extra.audience = accessToken.audience
  extra.claims = accessToken.claims
  // AuthInfo has one place for the audience, `resource` (what the SDK's expectedResource check
  // reads). A token restricted by `aud` alone names it there when it names exactly one.
  const only = accessToken.audience?.length === 1 ? accessToken.audience[0] : undefined
  const named = accessToken.resource ?? only
  const resource = named === undefined ? undefined : toUrl(named)
  return {
    token: accessToken.token,
    clientId: accessToken.clientId,
    scopes: [...accessToken.scopes],
    ...(accessToken.expiresAt === undefined ? {} : { expiresAt: accessToken.expiresAt }),
    ...(resource === undefined ? {} : { resource }),
    extra: { ...extra },
  }
}

function toUrl(value: string): URL | undefined {
  try {
    return new URL(value)
  } catch {
    return undefined
  }
}

const EXTRA_MEMBERS = new Set(['subject', 'issuer', 'audience', 'claims'])
// Claims that decide acceptance: they come from the AuthInfo's own members or not at all, never
// from `extra`, which an SDK verifier fills with whatever it likes.
const SECURITY_CLAIMS = ['aud', 'resource', 'exp']

/**
 * Reads an `AuthInfo` (shaped like {@link McpAuthInfo}) as the record a provider would return,
 * or a problem. Used by {@link fromAuthInfo} and the SDK verifier wrapper (not re-exported).
 */
export function accessTokenFromAuthInfo(authInfo: unknown): AccessToken | RecordProblem {
  if (!isObject(authInfo)) return new RecordProblem('the AuthInfo is not an object')
  const { token, resource } = authInfo
  if (typeof token !== 'string' || token === '') {
    return new RecordProblem('token is not a non-empty string')
  }
  const extra = authInfo.extra ?? {}
  if (!isObject(extra)) return new RecordProblem('extra is not an object')
  let resourceValue: string | undefined
  if (resource instanceof URL) {
    resourceValue = resource.href
    // Keep the form the issuer wrote (toAuthInfo's claims), when it names the same URL.
    const claimed = isObject(extra.claims) ? extra.claims.resource : undefined
    if (typeof claimed === 'string' && comparableAudience(claimed) === resourceValue) {
      resourceValue = claimed
    }
  } else if (resource !== undefined) {
    return new RecordProblem('resource is not a URL')
  }
  let claims: unknown = extra.claims
  if (claims === undefined) {
    // A foreign AuthInfo: its extra data is all there is to carry along as claims.
    claims = Object.fromEntries(Object.entries(extra).filter(([k]) => !EXTRA_MEMBERS.has(k)))
  } else if (!isObject(claims)) {
    return new RecordProblem('extra.claims is not an object')
  }
  const kept: Record<string, unknown> = { ...(claims as Record<string, unknown>) }
  for (const name of SECURITY_CLAIMS) delete kept[name]
  // `resource` decides the audience: `extra.audience` and an `aud` in `extra.claims` are never
  // read, so `resource = B` with `extra = { audience: [A] }` is a token for B only.
  return accessTokenFromRecord(token, {
    token,
    clientId: authInfo.clientId,
    scopes: authInfo.scopes,
    expiresAt: authInfo.expiresAt,
    resource: resourceValue,
    subject: extra.subject,
    issuer: extra.issuer,
    claims: kept,
  })
}

/**
 * An MCP TypeScript SDK `AuthInfo` as a complete, frozen bearerkit `AccessToken`: the inverse of
 * {@link toAuthInfo} for everything but the audience. The claims that decide acceptance come
 * from the `AuthInfo`'s own members only: `clientId`, `scopes`, `expiresAt`, and `resource`,
 * which alone is the audience (the result has no `audience`; `extra.audience`, and `aud`,
 * `resource` or `exp` inside `extra.claims`, are never read). `extra.subject`, `extra.issuer` and
 * the other `extra.claims` are read back; for an `AuthInfo` made elsewhere, without
 * `extra.claims`, the other `extra` members become the claims. No expiry, audience or scope
 * decision is made here.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming what is malformed: `token` or `clientId`
 * not a non-empty string, `scopes` not an array of scope tokens, `expiresAt` not a finite number,
 * `resource` not a `URL`, `extra` or its members of the wrong type.
 * @example
 * ```ts
 * const accessToken = fromAuthInfo(req.auth)
 * ```
 */
export function fromAuthInfo(authInfo: McpAuthInfo): AccessToken {
  const result = accessTokenFromAuthInfo(authInfo)
  if (result instanceof RecordProblem) throw invalidArgument('authInfo', result.message)
  return result
}
