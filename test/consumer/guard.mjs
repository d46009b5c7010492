// Runs one README block (node guard.mjs <block.mjs>) with the network limited to loopback, the way
// the test suites are: a block that would reach a real authorization server fails at once with a
// message that says so, instead of hanging on DNS or an unreachable host. The block passes when
// its module finishes evaluating without an error; servers it leaves listening are not waited for.
import dns from 'node:dns'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]'])
const refuse = (host) =>
  new Error(`README block tried to reach ${host}: only loopback is allowed in the consumer test`)

const realFetch = globalThis.fetch
globalThis.fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input))
  if (!LOOPBACK.has(url.hostname)) return Promise.reject(refuse(url.hostname))
  return realFetch(input, init)
}
const realLookup = dns.lookup
dns.lookup = (host, ...rest) => {
  const callback = rest.at(-1)
  if (!LOOPBACK.has(host)) return process.nextTick(callback, refuse(host))
  return realLookup(host, ...rest)
}
const realPromiseLookup = dns.promises.lookup
dns.promises.lookup = (host, ...rest) =>
  LOOPBACK.has(host) ? realPromiseLookup(host, ...rest) : Promise.reject(refuse(host))

const block = process.argv[2]
if (block === undefined) throw new TypeError('usage: node guard.mjs <block.mjs>')
await import(pathToFileURL(resolve(block)).href)
process.exit(0)
