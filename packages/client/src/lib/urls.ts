import { validateUrl } from '@bearerkit/core'
import { OAuthClientError } from '../errors.js'

/**
 * A URL a server sent us (an endpoint, an authorization server, a metadata location): https, or
 * http on loopback only, without credentials or fragment, and on a loopback host only when `from`
 * is on loopback too (see {@link refuseLoopback}). `from` is the URL the caller gave the step that
 * learned this one: the resource for protected resource metadata, the issuer for authorization
 * server metadata and its endpoints. Anything else is `ERR_INVALID_RESPONSE` naming the field,
 * never the value (it may be anything).
 */
export function serverUrl(
  field: string,
  value: unknown,
  what: string,
  from: URL | string,
  source?: URL,
): URL {
  let url: URL
  try {
    url = validateUrl(field, value)
  } catch (cause) {
    throw new OAuthClientError('ERR_INVALID_RESPONSE', `${what}: ${field} is not a usable URL`, {
      cause,
      ...(source === undefined ? {} : { url: source.href }),
    })
  }
  refuseLoopback(url, from, field, what, source)
  return url
}

/**
 * Refuses a URL learned from a server that points at the machine the client runs on while the URL
 * the caller started from (`from`) does not. A remote resource or authorization server that could
 * name `http://127.0.0.1:6379/` or `http://localhost/admin` would have the client send requests,
 * its credentials included, into the host the client runs on: server-side request forgery in a
 * gateway that runs this client for URLs its users supply. A resource on loopback may still name an
 * authorization server on loopback (local development), since the caller chose that machine.
 *
 * The host is judged by its name and address only: a name that resolves to a loopback or private
 * address through DNS is not seen here.
 */
export function refuseLoopback(
  url: URL,
  from: URL | string,
  field: string,
  what: string,
  source?: URL,
): void {
  if (!isLoopbackUrl(url)) return
  const start = typeof from === 'string' ? (URL.canParse(from) ? new URL(from) : undefined) : from
  if (start !== undefined && isLoopbackUrl(start)) return
  throw new OAuthClientError(
    'ERR_INVALID_RESPONSE',
    `${what}: ${field} points at a loopback host, which only a server on loopback may name`,
    source === undefined ? {} : { url: source.href },
  )
}

/**
 * True when a request to `url` goes to the machine it is sent from: 127.0.0.0/8 and 0.0.0.0/8,
 * `localhost` and `*.localhost` (RFC 6761 §6.3, with or without a terminating dot), `::1`, `::`,
 * and IPv4 addresses mapped into IPv6 (`::ffff:127.0.0.1`) or compatible with it (`::127.0.0.1`).
 * `0.0.0.0` and `::` are included because Linux connects them to loopback.
 *
 * The URL parser has normalised the host already: `127.1`, `0x7f.0.0.1` and `2130706433` arrive
 * as `127.0.0.1`, `[::FFFF:127.0.0.1]` as `[::ffff:7f00:1]`, `[0:0:0:0:0:0:0:1]` as `[::1]`, and
 * names in lower case.
 */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname
  if (host.startsWith('[')) return isLoopbackIpv6(host.slice(1, -1))
  const ipv4 = /^(\d+)\.\d+\.\d+\.\d+$/.exec(host)
  if (ipv4 !== null) return isLoopbackOctet(Number(ipv4[1]))
  const name = host.replace(/\.+$/, '')
  return name === 'localhost' || name.endsWith('.localhost')
}

// 127.0.0.0/8 is loopback (RFC 1122 §3.2.1.3); 0.0.0.0/8 is "this host on this network", and
// Linux connects 0.0.0.0 to loopback.
function isLoopbackOctet(first: number): boolean {
  return first === 127 || first === 0
}

// `text` is the parser's canonical form: lower-case hex groups, the longest run of zeros as `::`,
// no dotted quad. The first 80 bits zero, then 0000 (IPv4-compatible, which holds `::` and `::1`)
// or ffff (IPv4-mapped, RFC 4291 §2.5.5), and the IPv4 part in 0/8 or 127/8.
function isLoopbackIpv6(text: string): boolean {
  const [head = '', tail] = text.split('::')
  const groups = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((group) => parseInt(group, 16))
  const left = groups(head)
  const right = tail === undefined ? [] : groups(tail)
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
  const [a, b, c, d, e, f, g] = all
  return (
    a === 0 &&
    b === 0 &&
    c === 0 &&
    d === 0 &&
    e === 0 &&
    (f === 0 || f === 0xffff) &&
    g !== undefined &&
    isLoopbackOctet(g >> 8)
  )
}

/**
 * The `.well-known` URL for `base` with the RFC 8615 segment inserted between the host and the
 * path (RFC 8414 §3.1, RFC 9728 §3.1); a terminating `/` of the path is dropped first. Without a
 * path, the plain `/.well-known/<name>`.
 */
export function insertWellKnown(base: URL, name: string): URL {
  const path = base.pathname.replace(/\/$/, '')
  return new URL(`/.well-known/${name}${path}`, base.origin)
}

/** The path of `base` without its terminating `/` ('' for none). */
export function trimmedPath(base: URL): string {
  return base.pathname.replace(/\/$/, '')
}
