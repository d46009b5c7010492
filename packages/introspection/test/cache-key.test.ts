// The keys of the two cache tiers: the in-process cache keys by core's per-process keyed hash
// (processTokenKey, through TokenKey.of), the shared tier of a fleet by SHA-256 (tokenCacheKey), which every process
// computes alike. No static import of ../src here: the verifier is loaded through t.mockImport
// (mocks reach only the direct importer of core's key functions).
import * as core from '@bearerkit/core'
import t, { type Test } from 'tap'
import type * as Introspection from '../src/introspection-verifier.js'
import { activeAnswer, baseOptions, newToken, verify } from './fixtures/common.js'
import { startServer, type TestServer } from './fixtures/net.js'

/** The package with core's two key functions replaced, and every call to them recorded. */
async function load(
  t: Test,
  processKey: (token: string) => string = core.processTokenKey,
): Promise<{
  create: typeof Introspection.createIntrospectionVerifier
  sha: string[]
  own: string[]
}> {
  const sha: string[] = []
  const own: string[] = []
  const mocked = await t.mockImport<typeof Introspection>('../src/introspection-verifier.js', {
    '@bearerkit/core': {
      ...core,
      tokenCacheKey: (input: string) => {
        sha.push(input)
        return core.tokenCacheKey(input)
      },
      // The in-process key, from the TokenKey the gate hands over or else from the token.
      TokenKey: {
        of: (input: string, given: unknown) => {
          own.push(input)
          return given === undefined ? processKey(input) : core.TokenKey.of(input, given)
        },
      },
    },
  })
  return { create: mocked.createIntrospectionVerifier, sha, own }
}

/** An endpoint that answers inactive for tokens starting with `dead`, active for the others. */
async function endpoint(t: Test): Promise<TestServer> {
  return startServer(t, (request, response) => {
    const token = new URLSearchParams(request.body).get('token') ?? ''
    const answer = token.startsWith('dead') ? { active: false } : activeAnswer({ sub: token })
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
  })
}

t.test('the in-process cache keys by the per-process keyed hash, never SHA-256', async (t) => {
  const server = await endpoint(t)
  const { create, sha, own } = await load(t)
  const verifier = create(baseOptions({ introspectionUrl: `${server.url}/introspect` }))
  const token = newToken()
  t.equal((await verifier.verifyToken(token))?.subject, token)
  t.equal((await verifier.verifyToken(token))?.subject, token, 'a hit')
  t.equal(server.requests.length, 1)
  t.same(sha, [], 'no SHA-256 of the token')
  t.same(own, [token, token])
})

t.test('a key collision is a miss: each token gets its own answer', async (t) => {
  const server = await endpoint(t)
  const { create } = await load(t, () => 'one key for all')
  const verifier = create(
    baseOptions({ introspectionUrl: `${server.url}/introspect`, cache: { negativeTtl: 60 } }),
  )
  const alice = newToken('alice')
  const dead = newToken('dead')
  const bob = newToken('bob')
  t.equal((await verifier.verifyToken(alice))?.subject, alice)
  t.same(await verify(verifier, dead), { accessToken: null, refusal: 'inactive' })
  t.equal((await verifier.verifyToken(bob))?.subject, bob, 'not served the inactive answer')
  t.equal(server.requests.length, 3)
  // In flight together under one key: the second does not take the first one's answer.
  const [first, second] = await Promise.all([
    verify(verifier, newToken('dead')),
    verifier.verifyToken(alice),
  ])
  t.same(first, { accessToken: null, refusal: 'inactive' })
  t.equal(second?.subject, alice)
})

t.test('the shared tier keys by SHA-256, the same in every process', async (t) => {
  const server = await endpoint(t)
  const store = core.createMemorySharedCache()
  // Two instances of a fleet: their processes' keyed hashes differ.
  const one = await load(t, (token) => `one ${core.processTokenKey(token)}`)
  const two = await load(t, (token) => `two ${core.processTokenKey(token)}`)
  const options = baseOptions({ introspectionUrl: `${server.url}/introspect`, sharedCache: store })
  const token = newToken()
  t.equal((await one.create(options).verifyToken(token))?.subject, token)
  t.equal((await two.create(options).verifyToken(token))?.subject, token)
  t.equal(server.requests.length, 1, 'the second instance read the first one’s answer')
  t.equal(two.sha.length, 1)
  t.match(two.sha[0], /\n/, 'the namespaced token')
  t.ok(two.sha[0]?.endsWith(`\n${token}`))
})
