import t from 'tap'
import {
  formatScopes,
  hasAllScopes,
  hasAnyScope,
  isScopeToken,
  missingScopes,
  parseScopes,
} from '../src/index.js'

t.test('parseScopes reads strings and arrays, drops junk and duplicates', async (t) => {
  t.same(parseScopes('read  write read'), ['read', 'write'])
  t.same(parseScopes('read'), ['read'])
  t.same(parseScopes('read"'), [])
  t.same(parseScopes(' a '), ['a'])
  t.same(parseScopes(['a', 'b', 'a']), ['a', 'b'])
  t.same(parseScopes(['a', 1, null, 'b c', '', 'd"e', 'f\\g', 'ok']), ['a', 'ok'])
  t.same(parseScopes(''), [])
  t.same(parseScopes(undefined), [])
  t.same(parseScopes(42), [])
  t.same(parseScopes({ scope: 'a' }), [])
  // Past 16 entries a Set does the duplicate check: same answer, in order of first appearance.
  const long = Array.from({ length: 40 }, (_, i) => `s${i % 20}`)
  t.same(
    parseScopes(long),
    Array.from({ length: 20 }, (_, i) => `s${i}`),
  )
  t.same(parseScopes([...long, 'bad scope', 7].join(' ')), [
    ...Array.from({ length: 20 }, (_, i) => `s${i}`),
    'bad',
    'scope',
    '7',
  ])
  t.same(parseScopes('caf\u00e9 tea'), ['tea'])
})

t.test('isScopeToken follows RFC 6749 §3.3', async (t) => {
  t.equal(isScopeToken('files:read'), true)
  t.equal(isScopeToken('https://api.example/x'), true)
  t.equal(isScopeToken(''), false)
  t.equal(isScopeToken('a b'), false)
  t.equal(isScopeToken('a"b'), false)
  t.equal(isScopeToken(7), false)
})

t.test('all-of, any-of and missing', async (t) => {
  t.equal(hasAllScopes(['a', 'b'], ['a']), true)
  t.equal(hasAllScopes(['a', 'b'], []), true)
  t.equal(hasAllScopes(['a'], ['a', 'b']), false)
  t.equal(hasAnyScope(['a'], ['b', 'a']), true)
  t.equal(hasAnyScope(['a'], ['b']), false)
  t.equal(hasAnyScope(['a'], []), false)
  t.same(missingScopes(['a'], ['b', 'a', 'c']), ['b', 'c'])
  t.equal(formatScopes(['a', 'b', 'a']), 'a b')
})
