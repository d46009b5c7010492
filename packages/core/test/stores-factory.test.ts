import t from 'tap'
import {
  createMemoryRevocationList,
  createMemorySharedCache,
  createVerifier,
  defineVerifier,
  revokeSubject,
  type TokenVerifier,
} from '../src/index.js'
import { accessToken } from './fixtures/tokens.js'

const T = 1_700_000_000

// A verifier package whose factory records its options and counts verifications.
const fakePackage = () => {
  const seen: unknown[] = []
  let calls = 0
  const create = (options: unknown): TokenVerifier & { ready(): string } => {
    seen.push(options)
    const inner = defineVerifier('fake', (token) => {
      calls++
      return accessToken(token, { subject: 'alice', issuer: 'https://as', claims: { iat: T - 1 } })
    })
    return { verifyToken: inner.verifyToken.bind(inner), ready: () => 'extras kept' }
  }
  return {
    seen,
    calls: () => calls,
    load: async () => ({ createJwtVerifier: create, createIntrospectionVerifier: create }),
  }
}

t.test(
  'createVerifier: every answer passes the revocation list, cache hits included',
  async (t) => {
    const pkg = fakePackage()
    const revocations = createMemoryRevocationList({ now: () => T * 1000 })
    const verifier = await createVerifier(
      { type: 'jwt', issuer: 'https://as', audience: 'x', now: () => T * 1000 },
      { load: pkg.load, revocations },
    )
    t.ok(await verifier.verifyToken('tok'))
    t.ok(await verifier.verifyToken('tok'))
    t.equal(pkg.calls(), 1, 'the second answer was a hit')
    await revokeSubject(revocations, { issuer: 'https://as', subject: 'alice' }, { before: T })
    t.equal(await verifier.verifyToken('tok'), null)
    t.equal(await verifier.ready(), undefined, 'ready() is kept, and always a promise')

    const uncached = await createVerifier(
      { type: 'jwt', issuer: 'https://as', audience: 'x', cache: false },
      { load: fakePackage().load, revocations },
    )
    t.equal(await uncached.verifyToken('tok'), null, 'without a cache too')
    t.equal(await uncached.ready(), undefined, 'ready() is kept, and always a promise')
  },
)

t.test(
  'createVerifier: introspection gets the shared tier, unless its config names one',
  async (t) => {
    const pkg = fakePackage()
    const sharedCache = createMemorySharedCache()
    const own = createMemorySharedCache()
    await createVerifier(
      { type: 'introspection', introspectionUrl: 'https://as/i' },
      { load: pkg.load, sharedCache },
    )
    await createVerifier(
      { type: 'introspection', introspectionUrl: 'https://as/i', sharedCache: own },
      { load: pkg.load, sharedCache },
    )
    await createVerifier(
      { type: 'introspection', introspectionUrl: 'https://as/i' },
      { load: pkg.load },
    )
    t.equal((pkg.seen[0] as { sharedCache: unknown }).sharedCache, sharedCache)
    t.equal((pkg.seen[1] as { sharedCache: unknown }).sharedCache, own)
    t.equal((pkg.seen[2] as { sharedCache?: unknown }).sharedCache, undefined)
    const revocations = createMemoryRevocationList({ now: () => T * 1000 })
    const checked = await createVerifier(
      { type: 'introspection', introspectionUrl: 'https://as/i' },
      { load: pkg.load, revocations },
    )
    await revokeSubject(revocations, { issuer: 'https://as', subject: 'alice' }, { before: T })
    t.equal(await checked.verifyToken('tok'), null)
  },
)
