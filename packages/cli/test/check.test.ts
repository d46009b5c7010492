import t from 'tap'
import { ADMIN_SCOPE, CLIENT, TOOLS_SCOPE, run, startMcpExample } from './fixtures/cli.js'

t.test('check against the MCP example and the local authorization server', async (t) => {
  const { resource } = await startMcpExample(t)
  const result = await run(
    [
      'check',
      resource,
      '--client-id',
      CLIENT.clientId,
      '--scope',
      TOOLS_SCOPE,
      '--small-scope',
      ADMIN_SCOPE,
    ],
    { env: { BEARERKIT_CLIENT_SECRET: CLIENT.clientSecret } },
  )
  console.log(result.stdout, result.stderr)
  t.equal(result.code, 0)
})
