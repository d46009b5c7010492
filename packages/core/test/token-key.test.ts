import t from 'tap'
import { processTokenKey } from '../src/token-key.js'
import { accessToken } from './fixtures/tokens.js'
import type { TokenVerifier } from '../src/index.js'
import type * as CacheModule from '../src/cache.js'

t.test('the in-process key: stable, 128 bits, never the token, no collisions', async (t) => {
  const token = `eyJhbGciOiJSUzI1NiJ9.${'eyJzdWIiOiJhIn0'.repeat(40)}.c2ln`
  const key = processTokenKey(token)
  t.equal(processTokenKey(token), key, 'the same token, the same key')
  t.equal(key.length, 8, 'eight 16-bit code units: 128 bits')
  t.notOk(key.includes(token.slice(0, 4)))
  const seen = new Set<string>()
  for (let i = 0; i < 20_000; i++) seen.add(processTokenKey(`${token}${i}`))
  t.equal(seen.size, 20_000, 'no two of 20,000 near-identical tokens share a key')
  // Inputs a careless padding or encoding would confuse.
  const tricky = [
    'a',
    'a\0',
    'a\0\0\0',
    '\0a',
    'é',
    'Ã©',
    '\uD800',
    '\uFFFD',
    'x'.repeat(16),
    'x'.repeat(17),
  ]
  t.equal(new Set(tricky.map(processTokenKey)).size, tricky.length)
  // Longer than the scratch buffer: still a key, not the token, stable and distinct.
  const long = 'A'.repeat(5000)
  t.equal(processTokenKey(long), processTokenKey('A'.repeat(5000)))
  t.not(processTokenKey(long), processTokenKey(`${long}B`))
  t.notOk(processTokenKey(long).includes('AAAA'))
})

t.test('a key collision is a miss: never another token answer', async (t) => {
  // Every token shares one key: the cache must still answer each token for itself.
  const { createCachedVerifier } = await t.mockImport<typeof CacheModule>('../src/cache.js', {
    '../src/token-key.js': { processTokenKey: () => 'one key for all' },
  })
  const calls: string[] = []
  let release = (): void => undefined
  let gate = Promise.resolve()
  const inner: TokenVerifier = {
    verifyToken: async (token) => {
      calls.push(token)
      await gate
      return token === 'bad' ? null : accessToken(token)
    },
  }
  const cached = createCachedVerifier(inner, { negativeTtl: 60 })
  t.equal((await cached.verifyToken('alice'))?.token, 'alice')
  t.equal((await cached.verifyToken('alice'))?.token, 'alice', 'a hit')
  t.equal(calls.length, 1)
  t.equal(await cached.verifyToken('bad'), null, 'not served alice’s entry')
  t.equal((await cached.verifyToken('bob'))?.token, 'bob', 'not served the refusal of bad')
  t.equal(calls.length, 3)
  // Two tokens in flight under one key: the second does not join the first one's load.
  gate = new Promise<void>((resolve) => (release = resolve))
  cached.clear()
  const first = cached.verifyToken('carol')
  const second = cached.verifyToken('dave')
  release()
  t.equal((await first)?.token, 'carol')
  t.equal((await second)?.token, 'dave')
  t.same(calls.slice(3), ['carol', 'dave'])
})
