import t from 'tap'
import { principalComponents, samePrincipal, type AccessToken } from '../src/index.js'

const token = (fields: Partial<AccessToken>): AccessToken => ({
  token: 't',
  clientId: 'client-a',
  scopes: [],
  claims: {},
  ...fields,
})

t.test('principalComponents returns the frozen triple with nulls for missing parts', async (t) => {
  const full = principalComponents(token({ issuer: 'https://as', subject: 'alice' }))
  t.same(full, ['client-a', 'https://as', 'alice'])
  t.ok(Object.isFrozen(full))
  t.same(principalComponents(token({})), ['client-a', null, null])
})

t.test('samePrincipal requires all three components equal', async (t) => {
  t.equal(samePrincipal(['a', 'i', 's'], ['a', 'i', 's']), true)
  t.equal(samePrincipal(['a', 'i', 's'], ['a', 'i', 'other']), false)
  t.equal(samePrincipal(['a', 'i', 's'], ['b', 'i', 's']), false)
  t.equal(samePrincipal(['a', 'i', 's'], ['a', 'j', 's']), false)
  // A component that no verifier supplies is null on both sides and still matches.
  t.equal(samePrincipal(['a', null, null], ['a', null, null]), true)
  t.equal(samePrincipal(['a', 'i', null], ['a', 'i', null]), true)
})

t.test('Principal comparison is strict: null equals only null', async (t) => {
  const session = principalComponents(token({ issuer: 'https://as', subject: 'alice' }))
  // A client-credentials token of the same client, without sub, must not take the session over.
  const clientCredentials = principalComponents(token({ issuer: 'https://as' }))
  t.equal(samePrincipal(session, clientCredentials), false)
  t.equal(samePrincipal(clientCredentials, session), false)
  // An introspection answer without iss and sub.
  const bare = principalComponents(token({}))
  t.equal(samePrincipal(session, bare), false)
  t.equal(samePrincipal(bare, session), false)
  // Issuer missing on one side only.
  t.equal(samePrincipal(['a', null, 's'], ['a', 'i', 's']), false)
  t.equal(samePrincipal(['a', 'i', 's'], ['a', null, 's']), false)
  // The empty string is a value, not "unknown".
  t.equal(samePrincipal(['a', '', 's'], ['a', null, 's']), false)
  t.equal(samePrincipal(['a', 'i', ''], ['a', 'i', null]), false)
  // An empty client id is a broken principal, never a match, even with itself.
  t.equal(samePrincipal(['', null, null], ['', null, null]), false)
  t.equal(samePrincipal(['', 'i', 's'], ['a', 'i', 's']), false)
})

t.test('samePrincipal treats a principal read back from a store defensively', async (t) => {
  // undefined (a principal stored by older code, or JSON without the member) counts as null.
  const stored = ['a', undefined, undefined] as unknown as readonly [string, null, null]
  t.equal(samePrincipal(stored, ['a', null, null]), true)
  t.equal(samePrincipal(stored, ['a', 'i', null]), false)
  // A value of the wrong type equals nothing.
  const garbage = ['a', 1, null] as unknown as readonly [string, null, null]
  t.equal(samePrincipal(garbage, garbage), false)
  const notAString = [1, null, null] as unknown as readonly [string, null, null]
  t.equal(samePrincipal(notAString, notAString), false)
})
