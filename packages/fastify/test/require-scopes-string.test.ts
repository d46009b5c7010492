import { accessTokenFromClaims, type AccessToken } from '@bearerkit/core'
import t from 'tap'
import { bearerAuth, requireScopes } from '../src/index.js'
import { bearer, buildApp } from './fixtures/app.js'

// Red-team finding "requireScopes(request, 'admin') with a string": read as the scopes a, d, m,
// i, n, it let a token holding those letters into an admin handler. It is now a TypeError (the
// programming mistake surfaces as a 500), and the handler's data is never sent.

const tokens: Record<string, AccessToken> = {
  letters: accessTokenFromClaims('letters', { client_id: 'c', scope: 'a d m i n' }) as AccessToken,
  admin: accessTokenFromClaims('admin', { client_id: 'c', scope: 'admin' }) as AccessToken,
}

t.test("requireScopes(request, 'admin') with a string", async (t) => {
  const { app } = buildApp(t)
  await app.register(bearerAuth, {
    verifier: { verifyToken: async (token) => tokens[token] ?? null },
    audience: null,
  })
  app.get('/string', async (request) => {
    requireScopes(request, 'admin' as unknown as readonly string[])
    return 'ADMIN DATA'
  })
  app.get('/array', async (request) => {
    requireScopes(request, ['admin'])
    return 'ADMIN DATA'
  })
  for (const name of ['letters', 'admin']) {
    const res = await app.inject({ url: '/string', headers: bearer(name) })
    t.equal(res.statusCode, 500, name)
    t.equal(res.json<{ code: string }>().code, 'ERR_INVALID_ARG_VALUE', name)
    t.notMatch(res.body, 'ADMIN DATA', name)
  }
  const letters = await app.inject({ url: '/array', headers: bearer('letters') })
  t.equal(letters.statusCode, 403)
  t.match(letters.headers['www-authenticate'], /error="insufficient_scope", .*scope="admin"/)
  const admin = await app.inject({ url: '/array', headers: bearer('admin') })
  t.equal(admin.statusCode, 200)
  t.equal(admin.body, 'ADMIN DATA')
})
