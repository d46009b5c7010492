import type { AccessToken } from '../access-token.js'
import { invalidArgument } from '../errors.js'

/**
 * One revocation. Times are seconds since the epoch, on the token time scale.
 *
 * - `token`: the token whose `jti` this is, until `expiresAt` (its `exp`: after that it is
 *   refused anyway). `jti`s are compared alone: RFC 7519 §4.1.7 makes them collision-resistant,
 *   and a collision across issuers could only refuse more, never accept more;
 * - `subject`: every token of (`issuer`, `subject`) issued at or before `before` (its `iat`);
 * - `client`: every token of `clientId` issued at or before `before`.
 *
 * A token without `iat` cannot show it was issued after `before`, so a subject or client
 * revocation refuses it. `before` is compared at or before (not strictly before): `iat` has a
 * resolution of one second, and a token issued in the very second of the revocation may predate
 * it. Subject and client entries are kept until `expiresAt`: choose it past the `exp` of every
 * token they target (`before` + the longest token lifetime).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7519#section-4.1.6 RFC 7519 §4.1.6 (`iat`)
 * @see https://www.rfc-editor.org/rfc/rfc7519#section-4.1.7 RFC 7519 §4.1.7 (`jti`)
 */
export type Revocation =
  | { readonly type: 'token'; readonly jti: string; readonly expiresAt: number }
  | {
      readonly type: 'subject'
      readonly issuer: string | null
      readonly subject: string
      readonly before: number
      readonly expiresAt: number
    }
  | {
      readonly type: 'client'
      readonly clientId: string
      readonly before: number
      readonly expiresAt: number
    }

interface Cutoff {
  before: number
  expiresAt: number
}

/**
 * The in-memory copy of a revocation list: what every instance consults on every request, with
 * no round trip. Store implementations (the memory list, `@bearerkit/redis`) keep one and feed
 * it; application code uses a `RevocationList` instead.
 */
export interface RevocationSet {
  /**
   * Adds (or strengthens: the later `before` and `expiresAt` win) one revocation; true when the
   * set changed.
   */
  add(revocation: Revocation): boolean
  /** Replaces the whole content (a resynchronisation). */
  replace(revocations: Iterable<Revocation>): void
  /** Whether `token` is revoked at `now` (milliseconds). Map lookups only. */
  matches(token: AccessToken, now: number): boolean
  /** Drops every entry that expired by `now` (milliseconds); returns how many remain. */
  prune(now: number): number
  /** Every entry held. */
  entries(): Revocation[]
  /** Number of entries held. */
  readonly size: number
}

const isTime = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value)

/**
 * Checks that `value` is a {@link Revocation} (as read back from a store or a message) and
 * returns it, frozen; throws a `TypeError` naming `option` otherwise.
 */
export function readRevocation(option: string, value: unknown): Revocation {
  const input = value as Record<string, unknown> | null
  if (typeof input !== 'object' || input === null)
    throw invalidArgument(option, 'must be an object')
  const nonEmpty = (name: string): string => {
    const field = input[name]
    if (typeof field !== 'string' || field === '') {
      throw invalidArgument(`${option}.${name}`, 'must be a non-empty string')
    }
    return field
  }
  const time = (name: string): number => {
    const field = input[name]
    if (!isTime(field)) throw invalidArgument(`${option}.${name}`, 'must be a time in seconds')
    return field
  }
  switch (input.type) {
    case 'token':
      return Object.freeze({ type: 'token', jti: nonEmpty('jti'), expiresAt: time('expiresAt') })
    case 'subject': {
      const issuer = input.issuer ?? null
      if (issuer !== null && (typeof issuer !== 'string' || issuer === '')) {
        throw invalidArgument(`${option}.issuer`, 'must be a non-empty string or null')
      }
      return Object.freeze({
        type: 'subject',
        issuer,
        subject: nonEmpty('subject'),
        before: time('before'),
        expiresAt: time('expiresAt'),
      })
    }
    case 'client':
      return Object.freeze({
        type: 'client',
        clientId: nonEmpty('clientId'),
        before: time('before'),
        expiresAt: time('expiresAt'),
      })
    default:
      throw invalidArgument(`${option}.type`, "must be 'token', 'subject' or 'client'")
  }
}

/**
 * Creates an empty {@link RevocationSet}.
 *
 * @example
 * ```ts
 * const copy = createRevocationSet()
 * copy.add({ type: 'client', clientId: 'leaky', before: now, expiresAt: now + 86_400 })
 * copy.matches(accessToken, Date.now()) // true for leaky's tokens issued until now
 * ```
 */
export function createRevocationSet(): RevocationSet {
  // jti -> expiresAt (ms). Nested maps for subjects keep (issuer, subject) pairs apart without
  // building a joined key on every request (and without separator collisions).
  let tokens = new Map<string, number>()
  let subjects = new Map<string | null, Map<string, Cutoff>>()
  let clients = new Map<string, Cutoff>()
  let size = 0

  // Stores a cutoff, or strengthens the one held; true when anything changed.
  const strengthen = <K>(
    map: Map<K, Cutoff>,
    key: K,
    before: number,
    expiresAt: number,
  ): boolean => {
    const held = map.get(key)
    if (held === undefined) {
      size++
      map.set(key, { before, expiresAt })
      return true
    }
    if (held.before >= before && held.expiresAt >= expiresAt) return false
    held.before = Math.max(held.before, before)
    held.expiresAt = Math.max(held.expiresAt, expiresAt)
    return true
  }

  const add = (revocation: Revocation): boolean => {
    const until = revocation.expiresAt * 1000
    switch (revocation.type) {
      case 'token': {
        const held = tokens.get(revocation.jti)
        if (held !== undefined && held >= until) return false
        if (held === undefined) size++
        tokens.set(revocation.jti, until)
        return true
      }
      case 'subject': {
        let bySubject = subjects.get(revocation.issuer)
        if (bySubject === undefined) {
          bySubject = new Map()
          subjects.set(revocation.issuer, bySubject)
        }
        return strengthen(bySubject, revocation.subject, revocation.before, until)
      }
      case 'client':
        return strengthen(clients, revocation.clientId, revocation.before, until)
    }
  }

  const cutoffMatches = (cutoff: Cutoff | undefined, token: AccessToken, now: number): boolean => {
    if (cutoff === undefined || cutoff.expiresAt <= now) return false
    const iat = token.claims.iat
    // No usable iat: the token cannot show it was issued after the cutoff.
    return !isTime(iat) || iat <= cutoff.before
  }

  return {
    add,
    replace(revocations) {
      tokens = new Map()
      subjects = new Map()
      clients = new Map()
      size = 0
      for (const revocation of revocations) add(revocation)
    },
    matches(token, now) {
      if (size === 0) return false
      if (tokens.size > 0) {
        const jti = token.claims.jti
        if (typeof jti === 'string') {
          const until = tokens.get(jti)
          if (until !== undefined && until > now) return true
        }
      }
      if (subjects.size > 0 && token.subject !== undefined) {
        const bySubject = subjects.get(token.issuer ?? null)
        if (bySubject !== undefined && cutoffMatches(bySubject.get(token.subject), token, now)) {
          return true
        }
      }
      return clients.size > 0 && cutoffMatches(clients.get(token.clientId), token, now)
    },
    prune(now) {
      for (const [jti, until] of tokens) {
        if (until <= now) {
          tokens.delete(jti)
          size--
        }
      }
      for (const [issuer, bySubject] of subjects) {
        for (const [subject, cutoff] of bySubject) {
          if (cutoff.expiresAt <= now) {
            bySubject.delete(subject)
            size--
          }
        }
        if (bySubject.size === 0) subjects.delete(issuer)
      }
      for (const [clientId, cutoff] of clients) {
        if (cutoff.expiresAt <= now) {
          clients.delete(clientId)
          size--
        }
      }
      return size
    },
    entries() {
      const out: Revocation[] = []
      for (const [jti, until] of tokens) out.push({ type: 'token', jti, expiresAt: until / 1000 })
      for (const [issuer, bySubject] of subjects) {
        for (const [subject, { before, expiresAt }] of bySubject) {
          out.push({ type: 'subject', issuer, subject, before, expiresAt: expiresAt / 1000 })
        }
      }
      for (const [clientId, { before, expiresAt }] of clients) {
        out.push({ type: 'client', clientId, before, expiresAt: expiresAt / 1000 })
      }
      return out
    },
    get size() {
      return size
    },
  }
}
