import t from 'tap'
import {
  createCachedVerifier,
  createMemoryRevocationList,
  revokeSubject,
  type RevocationList,
} from '@bearerkit/core'
import { bearerAuth } from '../src/index.js'
import { ISSUER, accessToken, bearer, buildApp, tableVerifier } from './fixtures/app.js'

t.test('revocations: a revoked subject is a 401 on a cache hit; a stale list a 503', async (t) => {
  const { app } = buildApp(t)
  let stale = false
  const list = createMemoryRevocationList()
  const revocations: RevocationList = {
    ...list,
    isRevoked: (token) => {
      if (stale) throw Object.assign(new Error('stale'), { code: 'ERR_VERIFIER_UNAVAILABLE' })
      return list.isRevoked(token)
    },
  }
  const inner = tableVerifier({
    alice: accessToken('alice', { claims: { iat: 1 } }),
    bob: accessToken('bob', { subject: 'bob', claims: { iat: 1 } }),
  })
  await app.register(bearerAuth, { verifier: createCachedVerifier(inner), revocations })
  app.get('/me', async (request) => ({ subject: request.accessToken?.subject }))
  t.equal((await app.inject({ url: '/me', headers: bearer('alice') })).statusCode, 200)
  await revokeSubject(list, { issuer: ISSUER, subject: 'alice' })
  const revoked = await app.inject({ url: '/me', headers: bearer('alice') })
  t.equal(revoked.statusCode, 401)
  t.match(revoked.headers['www-authenticate'], /error="invalid_token"/)
  t.equal(inner.calls.filter((token) => token === 'alice').length, 1, 'refused on the hit')
  t.equal((await app.inject({ url: '/me', headers: bearer('bob') })).statusCode, 200)
  stale = true
  const unavailable = await app.inject({ url: '/me', headers: bearer('bob') })
  t.equal(unavailable.statusCode, 503)
  t.ok(unavailable.headers['retry-after'] !== undefined)
})

t.test('revocations: checked at registration', async (t) => {
  const { app } = buildApp(t)
  await t.rejects(
    async () => {
      await app.register(bearerAuth, {
        verifier: tableVerifier({}),
        revocations: {} as RevocationList,
      })
      await app.ready()
    },
    { code: 'ERR_INVALID_ARG_VALUE', message: /^revocations / },
  )
})
