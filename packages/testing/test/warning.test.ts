import t from 'tap'
import { TEST_SERVER_WARNING, createLocalAuthorizationServer } from '../src/index.js'

// A process of its own: the warning is written once per process, by the first server started
// without `quiet`.
t.test('the testing server warns at start-up that it is for tests only', async (t) => {
  const seen: Error[] = []
  const onWarning = (warning: Error): void => {
    seen.push(warning)
  }
  process.on('warning', onWarning)
  t.teardown(() => {
    process.off('warning', onWarning)
  })
  const flush = () => new Promise((resolve) => setImmediate(resolve))
  const silent = await createLocalAuthorizationServer({ quiet: true, algorithm: 'ES256' })
  await silent.close()
  await flush()
  t.equal(seen.length, 0, 'quiet: nothing')
  const first = await createLocalAuthorizationServer({ algorithm: 'ES256' })
  const second = await createLocalAuthorizationServer({ algorithm: 'ES256' })
  await Promise.all([first.close(), second.close()])
  await flush()
  t.equal(seen.length, 1, 'one warning per process')
  t.equal(seen[0]?.message, TEST_SERVER_WARNING)
  t.equal((seen[0] as Error & { code?: string }).code, 'BEARERKIT_TEST_SERVER')
  t.match(TEST_SERVER_WARNING, /for tests only/)
  t.match(TEST_SERVER_WARNING, /any registered client can introspect any token/)
  t.match(TEST_SERVER_WARNING, /Host header is not checked/)
  await t.rejects(createLocalAuthorizationServer({ quiet: 'yes' as never }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /^options\.quiet /,
  })
})

t.test('everything the server mints carries iat', async (t) => {
  const now = Date.UTC(2030, 0, 1)
  const as = await createLocalAuthorizationServer({
    quiet: true,
    algorithm: 'ES256',
    now: () => now,
    defaultResource: 'https://api.example.com/mcp',
  })
  t.teardown(() => as.close())
  const payload = (jwt: string) =>
    JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString('utf8')) as {
      iat?: unknown
    }
  t.equal(payload(await as.issueToken()).iat, now / 1000)
  const form = new URLSearchParams({ grant_type: 'client_credentials' })
  const response = await fetch(as.tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('test-client:test-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: form.toString(),
  })
  const body = (await response.json()) as { access_token: string }
  t.equal(payload(body.access_token).iat, now / 1000)
})
