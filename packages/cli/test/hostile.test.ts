// What a hostile server or a hostile token can make the CLI print. Server-controlled text
// (metadata fields, challenge parameters, token responses, token claims) must never reach the
// terminal with control characters in it: ESC starts ANSI/OSC sequences (colours, cursor moves,
// window title, OSC 52 clipboard writes), CR and LF fake output lines, C1 controls (U+0080 to
// U+009F, CSI is U+009B) act as escapes on some terminals, and bidi overrides reorder what is
// shown.
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { createLocalAuthorizationServer } from '@bearerkit/testing'
import t from 'tap'
import type { CheckReport } from '../src/index.js'
import { json, startBrokenServer } from './fixtures/broken-server.js'
import { run } from './fixtures/cli.js'

// Any C0 control but LF, DEL, any C1 control, bidi embeddings, overrides and isolates.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

const OSC_TITLE = '\u001b]0;pwned\u0007'
const OSC_CLIPBOARD = '\u001b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\u0007'
const FAKE_LINE = '\r  ✔ pass  The resource is trustworthy'

t.test('check: hostile metadata, challenge and token response are printed inert', async (t) => {
  const resource = await startBrokenServer(t, {
    // U+009B (CSI) is a valid byte in a header value (obs-text), and fetch reads it as latin1.
    'POST /mcp': (origin) => ({
      status: 401,
      headers: {
        'www-authenticate': `Bearer error="\u009b2J", resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"`,
      },
    }),
    'GET /.well-known/oauth-protected-resource/mcp': (origin) =>
      json({
        resource: `${origin}/mcp`,
        // The URL parser drops CR and percent-encodes ESC and BEL: a valid URL, but the string
        // as sent is what the CLI has in hand.
        authorization_servers: [origin, `${origin}/x${OSC_TITLE}${FAKE_LINE}`],
        bearer_methods_supported: ['header', `\u001b[2J${FAKE_LINE}`],
      }),
    'GET /.well-known/oauth-authorization-server': (origin) =>
      json({
        issuer: origin,
        authorization_endpoint: `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', `\u202etxt.exe`],
      }),
    'POST /token': () =>
      json({ access_token: 'tok.full', token_type: 'Bearer', scope: `full${OSC_CLIPBOARD}` }),
  })
  const args = ['check', resource, '--client-id', 'svc', '--client-secret', 's']
  const text = await run(args)
  t.equal(text.code, 1, 'the second issuer has no metadata')
  t.notMatch(text.stdout, UNSAFE, 'no control character reaches stdout')
  t.notOk(text.stdout.includes(FAKE_LINE), 'no line can be faked')
  // Shown, escaped, so that the user sees what the server sent.
  t.ok(text.stdout.includes('error="\\u009b2J"'))
  t.ok(text.stdout.includes('x\\u001b]0;pwned\\u0007\\u000d  ✔ pass'))
  t.ok(text.stdout.includes('\\u001b]52;c;'))
  t.ok(text.stdout.includes('\\u202etxt.exe'))

  // On a terminal, the progress lines on stderr name the issuer too.
  const terminal = await run(args, { isTTY: true, env: { NO_COLOR: '1' } })
  t.notMatch(terminal.stdout, UNSAFE)
  t.notMatch(terminal.stderr.replaceAll('\r\u001b[K', ''), UNSAFE, 'only our own line resets')

  // JSON escapes C0 controls itself; C1 controls and bidi overrides are escaped too, and the
  // report still parses to exactly what the server sent.
  const report = await run([...args, '--json'])
  t.notMatch(report.stdout, UNSAFE)
  const parsed = JSON.parse(report.stdout) as CheckReport
  const find = (id: string): string | undefined => parsed.checks.find((c) => c.id === id)?.detail
  t.equal(find('challenge.bearer'), 'error="\u009b2J" although no token was sent')
  t.match(find('as.token_endpoint_auth_methods'), 'client_secret_basic, \u202etxt.exe')
})

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

t.test('decode: hostile claims and header are printed inert', async (t) => {
  const header = { alg: 'ES256', typ: `\u009b2J\u202e`, kid: 'k' }
  const claims = { sub: `alice\u009b31m`, [`\u202eevil`]: 1, aud: 'a', exp: 2e9 }
  const token = `${b64(header)}.${b64(claims)}.sig`
  const text = await run(['decode', token], { now: 1e12 })
  t.equal(text.code, 0)
  t.notMatch(text.stdout, UNSAFE)
  t.ok(text.stdout.includes('"sub": "alice\\u009b31m"'))
  t.ok(text.stdout.includes('"\\u202eevil": 1'))
  t.ok(text.stdout.includes('typ is "\\u009b2J\\u202e"'))
  const json = await run(['decode', token, '--json'], { now: 1e12 })
  t.notMatch(json.stdout, UNSAFE)
  const parsed = JSON.parse(json.stdout) as { header: unknown; claims: unknown }
  t.same(parsed.header, header, 'the JSON still means what the token says')
  t.same(parsed.claims, claims)
})

t.test('verify: claims of a valid token are printed inert', async (t) => {
  const as = await createLocalAuthorizationServer({ quiet: true })
  t.teardown(() => as.close())
  const audience = 'https://mcp.example.com/mcp'
  const token = await as.issueToken({
    subject: `alice${OSC_TITLE}${FAKE_LINE}`,
    audience,
    claims: { note: `\u009b2J\u202e` },
  })
  const flags = ['--issuer', as.issuer, '--jwks-uri', as.jwksUri, '--audience', audience]
  const text = await run(['verify', token, ...flags])
  t.equal(text.code, 0, text.stdout)
  t.notMatch(text.stdout, UNSAFE)
  t.ok(text.stdout.includes('alice\\u001b]0;pwned\\u0007\\u000d  ✔ pass'))
  const json = await run(['verify', token, ...flags, '--json'])
  t.notMatch(json.stdout, UNSAFE)
  t.equal((JSON.parse(json.stdout) as { subject: string }).subject, `alice${OSC_TITLE}${FAKE_LINE}`)
})

t.test('messages quoting the command line are printed inert, on their own lines', async (t) => {
  const unknown = await run(['decode', `--x${OSC_TITLE}`])
  t.equal(unknown.code, 64)
  t.notMatch(unknown.stderr, UNSAFE)
  t.match(unknown.stderr, /Unknown option \(not shown\)/)
  // parseArgs' own multi-line messages keep their lines.
  const ambiguous = await run(['check', 'http://127.0.0.1/mcp', '--scope', '-x'])
  t.equal(ambiguous.code, 64)
  t.match(ambiguous.stderr, /argument is ambiguous\.\nDid you forget/)
})

t.test('check: a long authorization_servers list is not walked to the end', async (t) => {
  // Every issuer but the first points at a server that accepts and never answers: each costs a
  // whole --timeout, so 20,000 of them (a 512 KiB metadata document holds that many) would keep
  // the check running for a day at the default timeout.
  let requests = 0
  const sockets = new Set<Socket>()
  const silent = createServer((socket) => {
    sockets.add(socket)
    socket.on('data', (data: Buffer) => {
      if (data.toString('latin1').startsWith('GET ')) requests++
    })
  })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    silent.close()
  })
  const { port } = silent.address() as AddressInfo
  const hanging = Array.from({ length: 20 }, (_, i) => `http://127.0.0.1:${port}/as${i}`)
  const resource = await startBrokenServer(t, {
    'GET /.well-known/oauth-protected-resource/mcp': (origin) =>
      json({ resource: `${origin}/mcp`, authorization_servers: [origin, ...hanging] }),
  })
  const result = await run(['check', resource, '--json', '--timeout', '100'])
  const report = JSON.parse(result.stdout) as CheckReport
  const found = report.checks.filter((c) => c.id === 'as.found')
  t.equal(found.length, 5, 'the first five issuers are checked')
  t.equal(found[0]?.status, 'pass')
  t.equal(requests, 4, 'the others are never asked')
  t.equal(
    report.checks.find((c) => c.id === 'prm.authorization_servers')?.detail,
    `${new URL(resource).origin}, ${hanging.slice(0, 4).join(', ')} and 16 more, not checked (only the first 5 are)`,
  )
})

t.test('a token that starts with "--" given as an argument is not echoed', async (t) => {
  // An opaque base64url token starts with "--" one time in 4096; parseArgs names it in full
  // (twice) in its unknown-option message.
  const token = `--${'Ab1_x9Zq'.repeat(5)}`
  for (const command of ['decode', 'verify', 'check', 'serve']) {
    const result = await run([command, token])
    t.equal(result.code, 64, command)
    t.notOk(result.stderr.includes(token.slice(2)), `${command}: the token is not shown`)
    t.match(result.stderr, /Unknown option \(not shown\)/)
    t.match(result.stderr, /after '--'/)
  }
  // A mistyped option still gets named.
  const typo = await run(['check', 'http://127.0.0.1/mcp', '--client-secrt', 'x'])
  t.equal(typo.code, 64)
  t.match(typo.stderr, /Unknown option '--client-secrt'/)
})
