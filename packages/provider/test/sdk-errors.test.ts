import t from 'tap'
import { InvalidTokenError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js'
import { SDK_ERRORS, createSdkErrorLoader } from '../src/lib/sdk-errors.js'

t.test('the SDK error classes are imported once, on first use', async (t) => {
  const specifiers: string[] = []
  const load = createSdkErrorLoader(async (specifier) => {
    specifiers.push(specifier)
    return { InvalidTokenError, ServerError, OAuthError: Error }
  })
  t.same(specifiers, [], 'nothing imported before use')
  const first = await load()
  const second = await load()
  t.equal(first.InvalidTokenError, InvalidTokenError)
  t.equal(second.ServerError, ServerError)
  t.same(specifiers, [SDK_ERRORS])
  t.equal(SDK_ERRORS, '@modelcontextprotocol/sdk/server/auth/errors.js')
})

t.test('a missing SDK is a TypeError naming the fix; the import is retried', async (t) => {
  const notFound = Object.assign(new Error('Cannot find package'), { code: 'ERR_MODULE_NOT_FOUND' })
  let calls = 0
  const load = createSdkErrorLoader(async () => {
    calls++
    if (calls === 1) throw notFound
    return { InvalidTokenError, ServerError }
  })
  const error = await load().then(
    () => undefined,
    (e: unknown) => e as TypeError & { code: string },
  )
  t.equal(error?.name, 'TypeError')
  t.equal(error?.code, 'ERR_MODULE_NOT_FOUND')
  t.match(error?.message, /install @modelcontextprotocol\/sdk or pass options\.errors/)
  t.equal(error?.cause, notFound)
  t.equal((await load()).ServerError, ServerError, 'retried after the failure')
  t.equal(calls, 2)
})

t.test('a module without the classes is refused the same way', async (t) => {
  for (const mod of [{}, null, { InvalidTokenError }, { ServerError: 'x' }]) {
    const load = createSdkErrorLoader(async () => mod)
    await t.rejects(load(), { name: 'TypeError', code: 'ERR_MODULE_NOT_FOUND' })
  }
})
