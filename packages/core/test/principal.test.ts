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

t.test('samePrincipal compares components present on both sides', async (t) => {
  t.equal(samePrincipal(['a', 'i', 's'], ['a', 'i', 's']), true)
  t.equal(samePrincipal(['a', 'i', 's'], ['a', 'i', 'other']), false)
  t.equal(samePrincipal(['a', 'i', 's'], ['b', 'i', 's']), false)
  t.equal(samePrincipal(['a', 'i', 's'], ['a', 'j', 's']), false)
  // a missing subject or issuer on either side is skipped
  t.equal(samePrincipal(['a', 'i', null], ['a', 'i', 's']), true)
  t.equal(samePrincipal(['a', null, 's'], ['a', 'i', 's']), true)
  // nothing comparable is never the same principal
  t.equal(samePrincipal(['', null, null], ['a', 'i', 's']), false)
})
