import { Refusal } from '@bearerkit/core'
import type { KeyResolver } from '../key-resolver.js'

const refusals = {
  missing: new Refusal('missing_claim', 'The access token has no iss claim'),
  type: new Refusal('invalid_claim', 'The access token iss claim is not a string'),
  wrong: new Refusal('wrong_issuer', 'The access token is not issued by a trusted issuer'),
}

/**
 * A key resolver that binds each issuer to its own keys: the (not yet verified) `iss` of the
 * token picks the resolver, so a token claiming issuer A is only ever checked with A's keys, and
 * a token of an unknown issuer is refused before any key is fetched. Once the signature checks
 * out, `iss` is verified too: it was signed by A's key.
 *
 * Issuers compare exactly (RFC 9068 §4, RFC 8414 §3.3): no trailing-slash or case folding.
 */
export function createIssuerRouter(resolvers: ReadonlyMap<string, KeyResolver>): KeyResolver {
  // One trusted issuer, the usual case: a comparison instead of hashing `iss` (a new string in
  // every token) for the Map.
  const [only] = resolvers.size === 1 ? resolvers : []
  return {
    resolve(header, payload, signal) {
      const iss = payload.iss
      if (iss === undefined) return refusals.missing
      if (typeof iss !== 'string') return refusals.type
      const resolver =
        only === undefined ? resolvers.get(iss) : iss === only[0] ? only[1] : undefined
      if (resolver === undefined) return refusals.wrong
      return resolver.resolve(header, payload, signal)
    },
    async ready() {
      await Promise.all([...resolvers.values()].map((resolver) => resolver.ready()))
    },
    close() {
      for (const resolver of resolvers.values()) resolver.close()
    },
  }
}
