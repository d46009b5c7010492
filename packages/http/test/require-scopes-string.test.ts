import { accessTokenFromClaims, type AccessToken } from '@bearerkit/core'
import t from 'tap'
import { createBearerGate } from '../src/index.js'

// Red-team finding "requireScopes(request, 'admin') with a string": a string is iterable, so it
// was read as the scopes a, d, m, i, n and a token holding those five letters passed the check.
// The gate (under every adapter's requireScopes) now takes only an array of scope tokens.

const tokens: Record<string, AccessToken> = {
  letters: accessTokenFromClaims('letters', { client_id: 'c', scope: 'a d m i n' }) as AccessToken,
  admin: accessTokenFromClaims('admin', { client_id: 'c', scope: 'admin' }) as AccessToken,
}

t.test("requireScopes(request, 'admin') with a string", async (t) => {
  const gate = createBearerGate({
    verifier: { verifyToken: async (token) => tokens[token] ?? null },
  })
  for (const name of ['letters', 'admin']) {
    const result = await gate.authenticate({
      method: 'GET',
      url: '/admin',
      headers: { authorization: `Bearer ${name}` },
    })
    if (result.kind !== 'accepted') throw new Error('expected an accepted request')
    for (const bad of ['admin', ['admin', 'two words'], ['admin', 7], [''], new Set(['admin'])]) {
      t.throws(
        () => gate.requireScopes(result, bad as readonly string[]),
        { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /scopes/ },
        `${name}: ${JSON.stringify(bad instanceof Set ? [...bad] : bad)}`,
      )
    }
    const asArray = gate.requireScopes(result, ['admin'])
    t.equal(asArray === null, name === 'admin', `${name}: ['admin'] decided on the whole scope`)
  }
})
