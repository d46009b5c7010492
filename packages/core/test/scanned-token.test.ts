import { inspect } from 'node:util'
import t from 'tap'
import {
  Refusal,
  TokenKey,
  createCachedVerifier,
  defineVerifier,
  isB64Token,
  processTokenKey,
  scanBearerToken,
} from '../src/index.js'
import { accessToken } from './fixtures/tokens.js'

const JWT = `eyJhbGciOiJSUzI1NiJ9.${'eyJzdWIiOiJhIn0'.repeat(50)}.c2lnbmF0dXJl-_`

t.test(
  'scanBearerToken: a b64token gives its token and the key processTokenKey gives',
  async (t) => {
    for (const token of [
      'a',
      'abc==',
      '-._~+/',
      JWT,
      // Either side of the key's scratch buffer (4096 characters): the long way gives the same key.
      'x'.repeat(4096),
      `${'x'.repeat(4096)}=`,
      'y'.repeat(16 * 1024),
    ]) {
      const scanned = scanBearerToken(token)
      t.ok(scanned instanceof TokenKey, `${token.slice(0, 16)} (${token.length})`)
      t.equal(scanned?.token, token)
      t.equal(
        TokenKey.of(token, scanned),
        processTokenKey(token),
        'the same key as processTokenKey',
      )
    }
  },
)

t.test('scanBearerToken: what isB64Token refuses is null, and it agrees with it', async (t) => {
  for (const value of ['', '=', 'a b', 'a,b', 'ab=c', 'é', 'a\0', `${'a'.repeat(4096)}!`]) {
    t.equal(scanBearerToken(value), null, JSON.stringify(value.slice(0, 20)))
  }
  const alphabet = 'aZ9-._~+/= ,é\0'
  let seed = 11
  let mismatches = 0
  for (let i = 0; i < 10_000; i++) {
    let value = ''
    const length = 1 + (i % 37)
    for (let j = 0; j < length; j++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      // The high bits: the low ones of this generator repeat with a short period.
      value += alphabet[(seed >>> 16) % alphabet.length]
    }
    if ((scanBearerToken(value) !== null) !== isB64Token(value)) mismatches++
  }
  t.equal(mismatches, 0)
})

t.test('TokenKey: its key serves its own token only, and nobody else can make one', async (t) => {
  const scanned = scanBearerToken('token-a') as TokenKey
  t.equal(TokenKey.of('token-b', scanned), processTokenKey('token-b'), 'another token: its own key')
  // Look-alikes are not TokenKeys.
  const forged = Object.create(TokenKey.prototype) as TokenKey
  t.equal(TokenKey.of('token-a', forged), processTokenKey('token-a'))
  t.equal(TokenKey.of('token-a', { token: 'token-a', key: 'x' }), processTokenKey('token-a'))
  t.equal(TokenKey.of('token-a', null), processTokenKey('token-a'))
  t.throws(
    () =>
      new (TokenKey as unknown as new (...args: unknown[]) => TokenKey)(
        Symbol('scanBearerToken'),
        'token-a',
        'aimed',
      ),
    { name: 'TypeError' },
  )
  // Printing one shows neither the token nor the key.
  t.notMatch(inspect(scanned, { showHidden: true }), /token-a/)
  t.equal(JSON.stringify(scanned), '{}')
  t.equal(JSON.stringify({ tokenKey: scanned }), '{"tokenKey":{}}')
})

t.test('a cache given one token key for another token answers for the token asked', async (t) => {
  const calls: string[] = []
  const inner = defineVerifier('inner', (token) => {
    calls.push(token)
    return token === 'good' ? accessToken(token) : new Refusal('bad_signature', 'no')
  })
  const cached = createCachedVerifier(inner)
  const good = scanBearerToken('good') as TokenKey
  t.equal((await cached.verifyToken('good', { tokenKey: good }))?.token, 'good')
  t.equal((await cached.verifyToken('good', { tokenKey: good }))?.token, 'good', 'a hit by its key')
  t.same(calls, ['good'])
  // The key of `good` handed in with another token: that token's own answer, never good's.
  t.equal(await cached.verifyToken('forged', { tokenKey: good }), null)
  t.same(calls, ['good', 'forged'])
  // And good's entry still answers good, by the key or without one.
  t.equal((await cached.verifyToken('good'))?.token, 'good')
  t.same(calls, ['good', 'forged'])
})
