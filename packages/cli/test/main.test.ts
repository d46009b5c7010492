import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { MAIN_HELP, runCli, type CliIo } from '../src/index.js'
import { challengeSyntaxError } from '../src/lib/challenge-syntax.js'
import { run } from './fixtures/cli.js'

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

t.test('the real bin runs as a child process', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, [bin, '--help'])
  t.equal(stdout, MAIN_HELP)
  const failed = await promisify(execFile)(process.execPath, [bin, 'decode', 'nope']).then(
    () => null,
    (error: unknown) => error as { code: number; stderr: string },
  )
  t.equal(failed?.code, 1, 'the exit code reaches the shell')
  t.match(failed?.stderr, /not a JWT/)
})

t.test('the real bin runs serve until SIGTERM', async (t) => {
  const child = spawn(process.execPath, [
    bin,
    'serve',
    '--port',
    '0',
    '--issuer',
    'https://login.example.com/',
    '--audience',
    'https://api.example.com/mcp',
  ])
  let stdout = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    if (stdout.includes('listening on')) child.kill('SIGTERM')
  })
  const [code] = (await once(child, 'exit')) as [number | null]
  t.equal(code, 0)
  t.match(stdout, /listening on http:\/\/127\.0\.0\.1:\d+\n/)
  t.match(stdout, /stopped\n$/)
})

t.test('commands, help and version', async (t) => {
  const none = await run([])
  t.equal(none.code, 64)
  t.equal(none.stdout, MAIN_HELP)
  for (const flag of ['--help', '-h', 'help']) {
    const help = await run([flag])
    t.equal(help.code, 0)
    t.match(help.stdout, /Commands:/)
  }
  t.equal((await run(['--version'])).stdout, '0.1.0\n')
  const unknown = await run(['frobnicate'])
  t.equal(unknown.code, 64)
  t.match(unknown.stderr, /unknown command "frobnicate"/)
  const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'
  const pasted = await run([token])
  t.equal(pasted.code, 64)
  t.notOk(pasted.stderr.includes('eyJ'), 'a token given as the command is not echoed')
  t.match(pasted.stderr, /unknown command \(not shown\)/)
  const proto = await run(['__proto__'])
  t.equal(proto.code, 64, 'inherited names are not commands')
  const decodeHelp = await run(['decode', '--help'])
  t.equal(decodeHelp.code, 0)
  t.match(decodeHelp.stdout, /Examples:/)
})

t.test('an unexpected failure is exit 1 with its message', async (t) => {
  let stderr = ''
  const io: CliIo = {
    stdout: { write: () => true },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: {
      isTTY: false,
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.reject(new Error('stdin broke')),
      }),
    },
    env: {},
    isTTY: false,
  }
  t.equal(await runCli(['decode'], io), 1)
  t.equal(stderr, 'bearerkit decode: stdin broke\n')
  stderr = ''
  io.stdin = {
    isTTY: false,
    [Symbol.asyncIterator]: () => ({
      // A non-Error rejection, as any extension point may produce.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      next: () => Promise.reject('odd'),
    }),
  }
  t.equal(await runCli(['decode'], io), 1)
  t.equal(stderr, 'bearerkit decode: odd\n')
})

t.test('WWW-Authenticate syntax (RFC 9110 §11.6.1)', async (t) => {
  const good = [
    'Bearer',
    'Bearer realm="example"',
    'Bearer error="invalid_token", error_description="expired"',
    'Bearer resource_metadata="https://r.example/.well-known/oauth-protected-resource/mcp"',
    'Basic realm="x", Bearer scope="a b"',
    'Basic, Bearer',
    'Basic , Bearer',
    'Newauth abc==, Bearer',
    'Newauth abc==',
    'Bearer error=',
    'Bearer a=b, c=d, Basic',
    'Bearer realm=token, error="x",',
    'Bearer a="\\"quoted\\"" , b=c',
    'DPoP algs="ES256", Bearer error="invalid_token"',
  ]
  for (const header of good) t.equal(challengeSyntaxError(header), undefined, header)
  const bad: [string, RegExp][] = [
    ['', /empty/],
    [' , ', /empty/],
    ['Bearer realm="unterminated', /no valid value/],
    ['Bearer error=invalid token', /expected ","/],
    ['Bearer a=b, error=', /no valid value/],
    ['"Bearer"', /auth-scheme/],
    ['Bearer;x', /after the scheme/],
    ['Bearer @', /unexpected/],
    ['Bearer a=b, "x"', /auth-scheme/],
    ['Bearer a=b c=d', /expected ","/],
  ]
  for (const [header, message] of bad) t.match(challengeSyntaxError(header), message, header)
  t.match(challengeSyntaxError(`Bearer ${'x'.repeat(30)}"`), /\.\.\.|unexpected/)
})
