import type { PreparedKey } from './prepared-key.js'

/** Why no key was found for a token. */
export type LookupMiss = 'unknown_kid' | 'algorithm' | 'no_key' | 'ambiguous'

/**
 * An immutable set of prepared keys, indexed once by `kid` and algorithm so that a lookup on the
 * hot path is two map reads and allocates nothing.
 */
export class KeySet {
  readonly size: number
  readonly #byKid = new Map<string, Map<string, PreparedKey[]>>()
  readonly #byAlg = new Map<string, PreparedKey[]>()
  readonly #kidlessByAlg: Map<string, PreparedKey[]> | null

  /**
   * @param anyKid Whether keys without a `kid` also match tokens that name one. True for a
   * configured static key (a PEM has no `kid`, the issuer's tokens still carry one); false for a
   * fetched JWKS, where a token's `kid` must be found in the set or trigger a refetch.
   */
  constructor(keys: readonly PreparedKey[], anyKid: boolean) {
    this.size = keys.length
    const kidless = new Map<string, PreparedKey[]>()
    for (const key of keys) {
      let forKid: Map<string, PreparedKey[]> | undefined
      if (key.kid !== undefined) {
        forKid = this.#byKid.get(key.kid)
        if (forKid === undefined) {
          forKid = new Map()
          this.#byKid.set(key.kid, forKid)
        }
      }
      for (const alg of key.algorithms) {
        push(this.#byAlg, alg, key)
        if (forKid !== undefined) push(forKid, alg, key)
        else push(kidless, alg, key)
      }
    }
    this.#kidlessByAlg = anyKid && kidless.size > 0 ? kidless : null
  }

  /**
   * The keys that may verify a token with this `kid` (or none) and `alg`, or why there are none:
   * `unknown_kid` (no key has that `kid`), `algorithm` (keys with that `kid` exist but none may
   * verify `alg`), `no_key` (no `kid` in the token and no key for `alg`), `ambiguous` (no `kid`
   * in the token and several keys for `alg`: trying each would multiply the work an attacker can
   * cause, so a `kid` is required then).
   */
  lookup(kid: string | undefined, alg: string): readonly PreparedKey[] | LookupMiss {
    if (kid === undefined) {
      const keys = this.#byAlg.get(alg)
      if (keys === undefined) return 'no_key'
      return keys.length === 1 ? keys : 'ambiguous'
    }
    const forKid = this.#byKid.get(kid)
    if (forKid === undefined) {
      if (this.#kidlessByAlg === null) return 'unknown_kid'
      return this.#kidlessByAlg.get(alg) ?? 'algorithm'
    }
    return forKid.get(alg) ?? 'algorithm'
  }
}

function push(map: Map<string, PreparedKey[]>, alg: string, key: PreparedKey): void {
  const list = map.get(alg)
  if (list === undefined) map.set(alg, [key])
  else list.push(key)
}
