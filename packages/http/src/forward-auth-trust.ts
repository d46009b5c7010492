import type { BlockList } from 'node:net'
import { invalidArgument } from '@bearerkit/core'

/** Loopback only: a forward-auth server reached by a proxy on the same host. */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = Object.freeze(['127.0.0.0/8', '::1'])

/** Whether a socket's remote address is one of the trusted proxies. */
export type ProxyTrust = (address: string | undefined) => boolean

const MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i

/**
 * Validates the `trustedProxies` option into a predicate. `node:net` is reached through
 * `process.getBuiltinModule`, so the package's entry keeps no static Node import (it also runs on
 * Workers, Deno and Bun, where only the gate is used).
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the entry at fault.
 */
export function resolveProxyTrust(value: unknown): ProxyTrust {
  const list = value ?? DEFAULT_TRUSTED_PROXIES
  if (!Array.isArray(list)) {
    throw invalidArgument('options.trustedProxies', 'must be an array of addresses or CIDR ranges')
  }
  const net = process.getBuiltinModule('node:net')
  const blocks: BlockList = new net.BlockList()
  list.forEach((entry: unknown, index) => {
    const option = `options.trustedProxies[${index}]`
    if (typeof entry !== 'string') throw invalidArgument(option, 'must be a string')
    const [address = '', bits, extra] = entry.split('/')
    const family = net.isIP(address)
    const prefix = bits === undefined ? undefined : Number(bits)
    const max = family === 4 ? 32 : 128
    if (
      family === 0 ||
      extra !== undefined ||
      (prefix !== undefined && (!/^\d{1,3}$/.test(bits ?? '') || prefix > max))
    ) {
      throw invalidArgument(option, 'must be an IPv4 or IPv6 address or CIDR range')
    }
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (prefix === undefined) blocks.addAddress(address, type)
    else blocks.addSubnet(address, prefix, type)
  })
  const check = (address: string): boolean => {
    // A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d.
    const mapped = MAPPED.exec(address)?.[1]
    if (mapped !== undefined) return blocks.check(mapped, 'ipv4')
    return net.isIP(address) === 6 ? blocks.check(address, 'ipv6') : blocks.check(address, 'ipv4')
  }
  // BlockList#check builds a native SocketAddress per call (several microseconds a request), and
  // the list never changes once built: each peer address is looked up once. Bounded, since peers
  // are many; a full memo starts over.
  const known = new Map<string, boolean>()
  return (address) => {
    if (address === undefined) return false
    let answer = known.get(address)
    if (answer === undefined) {
      answer = check(address)
      if (known.size >= MAX_KNOWN) known.clear()
      known.set(address, answer)
    }
    return answer
  }
}

const MAX_KNOWN = 1024
