import { Readable } from 'node:stream'
import { createLocalAuthorizationServer } from '@bearerkit/testing'
import t, { type Test } from 'tap'
import { runCli, type CliIo } from '../src/index.js'
import { freePort, run } from './fixtures/cli.js'

const RESOURCE = 'https://api.example.com/mcp'

interface Served {
  url: string
  stop: () => Promise<{ code: number; stdout: string }>
}

/** Starts `bearerkit serve` in-process and waits until it listens. */
async function serve(t: Test, argv: string[], env: Record<string, string> = {}): Promise<Served> {
  const controller = new AbortController()
  let stdout = ''
  let listening: (url: string) => void = () => undefined
  const ready = new Promise<string>((resolve) => (listening = resolve))
  const io: CliIo = {
    stdout: {
      write: (text: string) => {
        stdout += text
        const match = /listening on (http:\/\/\S+)/.exec(stdout)
        if (match?.[1] !== undefined) listening(match[1])
        return true
      },
    },
    stderr: { write: () => true },
    stdin: Object.assign(Readable.from([]), { isTTY: true }),
    env,
    isTTY: false,
    signal: controller.signal,
  }
  const done = runCli(['serve', ...argv], io)
  t.teardown(() => {
    controller.abort()
    return done
  })
  const url = await Promise.race([
    ready,
    done.then((code) => {
      throw new Error(`serve exited ${code}: ${stdout}`)
    }),
  ])
  return {
    url,
    stop: async () => {
      controller.abort()
      return { code: await done, stdout }
    },
  }
}

t.test('serve answers forward-auth requests with the verifier from flags', async (t) => {
  const as = await createLocalAuthorizationServer({ quiet: true })
  t.teardown(() => as.close())
  const served = await serve(t, [
    '--port',
    '0',
    '--issuer',
    as.issuer,
    '--jwks-uri',
    as.jwksUri,
    '--audience',
    RESOURCE,
    '--resource',
    RESOURCE,
    '--trusted-proxy',
    '127.0.0.1',
  ])
  t.match(served.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  const anonymous = await fetch(`${served.url}/mcp`)
  t.equal(anonymous.status, 401)
  t.equal(
    anonymous.headers.get('www-authenticate'),
    `Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"`,
  )
  const token = await as.issueToken({ subject: 'alice', scopes: ['a', 'b'], audience: RESOURCE })
  const allowed = await fetch(`${served.url}/mcp`, {
    headers: { authorization: `Bearer ${token}` },
  })
  t.equal(allowed.status, 200)
  t.equal(allowed.headers.get('x-bearer-subject'), 'alice')
  t.equal(allowed.headers.get('x-bearer-scopes'), 'a b')
  const other = await as.issueToken({ audience: 'https://other.example' })
  const refused = await fetch(`${served.url}/mcp`, {
    headers: { authorization: `Bearer ${other}` },
  })
  t.equal(refused.status, 401)
  const { code, stdout } = await served.stop()
  t.equal(code, 0)
  t.match(stdout, /for https:\/\/api\.example\.com\/mcp\n/)
  t.match(stdout, /stopped\n$/)
  t.notOk(stdout.includes(token))
})

t.test('serve from the environment, with the issuer as the authorization server', async (t) => {
  const as = await createLocalAuthorizationServer({ quiet: true })
  t.teardown(() => as.close())
  const served = await serve(t, ['--port', '0', '--path-prefix', '/auth'], {
    BEARERKIT_VERIFIER: 'jwt',
    BEARERKIT_ISSUER: as.issuer,
    BEARERKIT_JWKS_URI: as.jwksUri,
    BEARERKIT_AUDIENCE: RESOURCE,
    BEARERKIT_RESOURCE: RESOURCE,
    BEARERKIT_TRUSTED_PROXIES: '127.0.0.1, ::1',
  })
  const metadata = await fetch(`${served.url}/auth/.well-known/oauth-protected-resource/mcp`)
  t.equal(metadata.status, 200)
  t.same(((await metadata.json()) as { authorization_servers: string[] }).authorization_servers, [
    as.issuer,
  ])
  t.equal((await served.stop()).code, 0)
})

t.test('serve: usage, configuration and listen errors', async (t) => {
  const flags = ['--issuer', 'https://login.example.com/', '--audience', RESOURCE]
  t.equal((await run(['serve', '--port', 'x', ...flags])).code, 64)
  t.equal((await run(['serve', '--port', '70000', ...flags])).code, 64)
  t.equal((await run(['serve', 'extra', ...flags])).code, 64)
  const help = await run(['serve', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /forward-auth/)
  t.equal((await run(['serve'])).code, 78, 'no verifier')
  const badProxy = await run(['serve', ...flags, '--trusted-proxy', 'not-an-address'])
  t.equal(badProxy.code, 78)
  t.match(badProxy.stderr, /trustedProxies/)
  const taken = await serve(t, ['--port', '0', ...flags])
  const port = new URL(taken.url).port
  const busy = await run(['serve', '--port', port, ...flags])
  t.equal(busy.code, 1)
  t.match(busy.stderr, /cannot listen on 127\.0\.0\.1:\d+/)
  const aborted = new AbortController()
  aborted.abort()
  const free = await freePort()
  const code = await runCli(['serve', '--port', String(free), ...flags], {
    stdout: { write: () => true },
    stderr: { write: () => true },
    stdin: Object.assign(Readable.from([]), { isTTY: true }),
    env: {},
    isTTY: false,
    signal: aborted.signal,
  })
  t.equal(code, 0, 'an already aborted signal stops at once')
})
