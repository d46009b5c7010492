import t from 'tap'
import type { bearerAuth as BearerAuth } from '../src/plugin.js'
import { ISSUER, RESOURCE, buildApp, standardVerifier } from './fixtures/app.js'

// No static import of ../src here: the plugin is loaded through t.mockImport so that its
// createVerifier is the mock below.
const resource = { url: RESOURCE, authorizationServers: [ISSUER] }

t.test('a verifier config object is built by createVerifier and closed with the app', async (t) => {
  const core = await import('@bearerkit/core')
  const built = standardVerifier()
  const configs: unknown[] = []
  let closed = 0
  const mockedCore = {
    ...core,
    createVerifier: async (config: unknown) => {
      configs.push(config)
      return Object.assign(Object.create(built) as object, {
        close() {
          closed++
        },
      })
    },
  }
  // Mocks reach only the direct importer, so the file that calls createVerifier is mocked first.
  const settings = await t.mockImport<object>('../src/lib/settings.js', {
    '@bearerkit/core': mockedCore,
  })
  const { bearerAuth: mocked } = await t.mockImport<{ bearerAuth: typeof BearerAuth }>(
    '../src/plugin.js',
    { '../src/lib/settings.js': settings },
  )
  const { app } = buildApp(t)
  const config = { type: 'jwt' as const, issuer: ISSUER, audience: RESOURCE }
  await app.register(mocked, { verifier: config, resource })
  app.get('/', async (request) => request.accessToken?.clientId)
  t.equal(
    (await app.inject({ url: '/', headers: { authorization: 'Bearer good' } })).body,
    'client-1',
  )
  t.same(configs, [config])
  t.equal(closed, 0)
  await app.close()
  t.equal(closed, 1, 'closed when the app closes')

  const { app: plain } = buildApp(t)
  await plain.register(mocked, { verifier: built })
  await plain.close()
  t.equal(closed, 1, "a verifier passed in is the caller's to close")
})
