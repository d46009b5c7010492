import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { parseChallenge } from '@bearerkit/core'
import t from 'tap'
import { createLocalAuthorizationServer } from '../src/index.js'
import { curlRequest, hasCurl, runShell, waitForExit, waitForOutput } from './fixtures/process.js'

// `npm start` runs examples/dist/start.js. Build it (and what it references) first: tsc -b does
// nothing when everything is up to date.
const root = fileURLToPath(new URL('../../../', import.meta.url))
const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-b', 'examples'], {
  cwd: root,
  encoding: 'utf8',
})
if (build.status !== 0) throw new Error(`building examples failed:\n${build.stdout}${build.stderr}`)

const READY = 'Ctrl-C stops.'

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('BEARERKIT_') && name !== 'PORT') env[name] = value
  }
  return { ...env, ...extra }
}

function startExample(extra: Record<string, string>) {
  return spawn(process.execPath, ['examples/dist/start.js'], {
    cwd: root,
    env: childEnv(extra),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

const refused = async (url: string): Promise<unknown> => {
  try {
    await fetch(url)
    return 'answered'
  } catch (error) {
    return ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code
  }
}

t.test('npm start prints curl lines that get 200 and then the 403 step-up challenge', async (t) => {
  const child = startExample({ PORT: '0' })
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const output = await waitForOutput(child, READY)
  // The local authorization server is started quiet; the banner says it is for the demo only.
  t.match(output, /authorization server\s+http:\/\/127\.0\.0\.1:\d+\s+\(for this demo only;/)
  t.equal(stderr, '', 'no warning on stderr')
  const lines = output.split('\n')
  const curlLines = lines.filter((line) => line.startsWith('curl '))
  t.equal(curlLines.length, 3, 'the 200 line, the 403 line, and the token request')
  const [okLine, stepUpLine, tokenLine] = curlLines as [string, string, string]

  // The printed token is the one both lines carry.
  const token = lines[lines.findIndex((line) => line.startsWith('Access token')) + 1] as string
  t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/)

  const ok = curlRequest(okLine)
  t.equal(ok.method, 'GET')
  t.equal(ok.headers.get('authorization'), `Bearer ${token}`)
  t.match(ok.url, /^http:\/\/127\.0\.0\.1:\d+\/notes$/)
  const okResponse = await fetch(ok.url, { method: ok.method, headers: ok.headers })
  t.equal(okResponse.status, 200)
  t.match(await okResponse.json(), {
    client: 'demo-client',
    subject: 'demo-user',
    scopes: ['notes:read'],
  })

  const stepUp = curlRequest(stepUpLine)
  t.equal(stepUp.method, 'POST')
  t.equal(stepUp.url, ok.url)
  const stepUpResponse = await fetch(stepUp.url, { method: stepUp.method, headers: stepUp.headers })
  t.equal(stepUpResponse.status, 403)
  const [challenge] = parseChallenge(stepUpResponse.headers.get('www-authenticate') ?? '')
  t.equal(challenge?.scheme, 'Bearer')
  t.match(challenge?.params, {
    error: 'insufficient_scope',
    scope: /\bnotes:write\b/,
    resource_metadata: `${new URL(ok.url).origin}/.well-known/oauth-protected-resource`,
  })
  t.match(await stepUpResponse.json(), { error: 'insufficient_scope' })

  // Without the token, the same route is a 401.
  t.equal((await fetch(ok.url)).status, 401)

  if (process.platform !== 'win32' && hasCurl()) {
    // The lines verbatim, through a shell, as a user pastes them.
    const viaCurl = await runShell(`${okLine} -w '\\n%{http_code}'`)
    t.equal(viaCurl.code, 0)
    t.match(viaCurl.stdout, /\n200$/)
    const stepUpCurl = await runShell(stepUpLine)
    t.match(stepUpCurl.stdout, /^HTTP\/1\.1 403 /)
    t.match(stepUpCurl.stdout, /www-authenticate: Bearer error="insufficient_scope"/i)
    const tokenCurl = await runShell(tokenLine)
    const issued = JSON.parse(tokenCurl.stdout) as Record<string, unknown>
    t.match(issued, { token_type: 'Bearer', scope: 'notes:read notes:write' })
    // A token with notes:write passes the route that refused the first one.
    const write = await fetch(stepUp.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${String(issued.access_token)}` },
    })
    t.equal(write.status, 201)
  } else {
    t.comment('curl is not installed: the lines were checked with fetch only')
  }

  const issuer = /authorization server\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1] as string
  const exited = waitForExit(child)
  child.kill('SIGINT')
  const { code, signal, output: rest } = await exited
  t.equal(signal, null, 'exits by itself')
  t.equal(code, 0)
  t.match(rest, /SIGINT: stopping[\s\S]*stopped/)
  t.equal(await refused(ok.url), 'ECONNREFUSED', 'the resource server is closed')
  t.equal(await refused(`${issuer}/jwks`), 'ECONNREFUSED', 'the authorization server is closed')
})

t.test(
  'BEARERKIT_* variables point it at another authorization server; SIGTERM stops it',
  async (t) => {
    const as = await createLocalAuthorizationServer()
    t.teardown(() => as.close())
    // A free port the test knows, so that the audience can name it.
    const probe = await createLocalAuthorizationServer()
    const port = probe.port
    await probe.close()
    const audience = `http://127.0.0.1:${port}`
    const child = startExample({
      PORT: String(port),
      BEARERKIT_VERIFIER: 'jwt',
      BEARERKIT_ISSUER: as.issuer,
      BEARERKIT_AUDIENCE: audience,
      BEARERKIT_RESOURCE: audience,
    })
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL')
    })
    const output = await waitForOutput(child, READY)
    t.match(output, `resource server on ${audience}, verifier jwt`)
    t.match(output, /^curl -s -H "Authorization: Bearer \$TOKEN" /m)
    t.notMatch(output, /eyJ/, 'no token is printed in this mode')

    const read = await as.issueToken({ audience, scopes: ['notes:read'] })
    const ok = await fetch(`${audience}/notes`, { headers: { authorization: `Bearer ${read}` } })
    t.equal(ok.status, 200)
    const stepUp = await fetch(`${audience}/notes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${read}` },
    })
    t.equal(stepUp.status, 403)
    t.match(
      stepUp.headers.get('www-authenticate'),
      /resource_metadata="http:\/\/127\.0\.0\.1:\d+\//,
    )
    // A token for another resource is refused.
    const other = await as.issueToken({
      audience: 'https://elsewhere.example',
      scopes: ['notes:read'],
    })
    t.equal(
      (await fetch(`${audience}/notes`, { headers: { authorization: `Bearer ${other}` } })).status,
      401,
    )
    t.ok(as.requestCount('metadata') >= 1, 'the verifier discovered the issuer')

    const exited = waitForExit(child)
    child.kill('SIGTERM')
    const { code, rest } = await exited.then((r) => ({ code: r.code, rest: r.output }))
    t.equal(code, 0)
    t.match(rest, /SIGTERM: stopping[\s\S]*stopped/)
  },
)

t.test('a bad environment fails with a message and status 1', async (t) => {
  const child = startExample({ PORT: '0', BEARERKIT_VERIFIER: 'magic' })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const [code] = (await once(child, 'exit')) as [number | null]
  t.equal(code, 1)
  t.match(stderr, /^npm start failed: BEARERKIT_VERIFIER must be jwt, introspection or provider/)
})

t.test('a bad PORT, or a port in use, fails with a message and status 1', async (t) => {
  const failure = async (env: Record<string, string>): Promise<[number | null, string]> => {
    const child = startExample(env)
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
    })
    const [code] = (await once(child, 'exit')) as [number | null]
    return [code, stderr]
  }
  t.same(await failure({ PORT: 'eighty' }), [
    1,
    'npm start failed: PORT must be an integer from 0 to 65535\n',
  ])
  t.same(await failure({ PORT: '65536' }), [
    1,
    'npm start failed: PORT must be an integer from 0 to 65535\n',
  ])
  const busy = await createLocalAuthorizationServer({ quiet: true })
  t.teardown(() => busy.close())
  const [code, stderr] = await failure({ PORT: String(busy.port) })
  t.equal(code, 1, 'exits even though its own authorization server was running')
  // The demo's own authorization server is quiet: its banner, not a warning, says it is a demo.
  t.notMatch(stderr, /BEARERKIT_TEST_SERVER/)
  t.match(stderr, /^npm start failed: .*EADDRINUSE/m)
})
