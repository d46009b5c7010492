// absoluteRequestUrl: the URL the Node adapters give the gate for the DPoP htu check. Red-team
// finding: a Host (or X-Forwarded-Host) that ends the authority early moved the path htu was
// compared with, and an absolute-form target let the client name the origin.
import t from 'tap'
import { absoluteRequestUrl } from '../src/index.js'

t.test('a plain host[:port] and http(s) make the absolute URL', async (t) => {
  t.equal(
    absoluteRequestUrl('https', 'api.example.com', '/mcp?q=1'),
    'https://api.example.com/mcp?q=1',
  )
  t.equal(absoluteRequestUrl('http', '127.0.0.1:8080', '/mcp'), 'http://127.0.0.1:8080/mcp')
  t.equal(absoluteRequestUrl('http', '[::1]:8080', '/mcp'), 'http://[::1]:8080/mcp')
  t.equal(absoluteRequestUrl('HTTPS', 'API.example.com', '/mcp'), 'HTTPS://API.example.com/mcp')
  t.equal(absoluteRequestUrl('http', 'svc_a.internal', '//x'), 'http://svc_a.internal//x')
})

t.test('a host that could move the path leaves the target relative', async (t) => {
  for (const host of [
    'api.example.com/other#',
    'api.example.com/other?',
    'api.example.com?',
    'api.example.com#',
    'api.example.com\\other',
    'user@api.example.com',
    'api.example.com:443/x',
    'api.example.com, proxy.internal',
    '[::1]/x',
    '',
    undefined,
    7,
  ]) {
    t.equal(absoluteRequestUrl('https', host, '/mcp'), '/mcp', String(host))
  }
  for (const protocol of ['https://api.example.com/other#', 'ftp', '', undefined]) {
    t.equal(absoluteRequestUrl(protocol, 'api.example.com', '/mcp'), '/mcp', String(protocol))
  }
})

t.test('an absolute-form target gives its path and query only', async (t) => {
  t.equal(absoluteRequestUrl('http', 'h', 'http://other.example/mcp?q=1'), '/mcp?q=1')
  t.equal(absoluteRequestUrl('http', 'h', 'HTTPS://other.example'), '/')
  t.equal(absoluteRequestUrl('http', 'h', '*'), '*')
  t.equal(absoluteRequestUrl('http', 'h', 'mailto:x@y'), 'mailto:x@y')
})

t.test('a path with a dot segment or a backslash never makes a URL a proof can name', async (t) => {
  // RFC 3986 normalisation reads /files/../admin as /admin; Express and Fastify route it under
  // /files, so a proof made for /admin would reach the /files handler.
  for (const target of [
    '/files/../admin',
    '/files/%2e%2E/admin',
    '/files/.%2e/admin',
    '/files/x/..',
    '/files/./x',
    '/files\\..\\admin',
    '/files\\admin',
    'http://other.example/files/../admin',
  ]) {
    t.equal(absoluteRequestUrl('https', 'api.example.com', target), '*', target)
  }
  t.equal(
    absoluteRequestUrl('https', 'api.example.com', '/files/../admin?access_token=x'),
    '*?access_token=x',
    'the query stays, for the token-in-query check',
  )
  for (const target of ['/a.b/c', '/.well-known/x', '/a/...', '/a/.x', '/x?y=/../z']) {
    t.equal(
      absoluteRequestUrl('https', 'api.example.com', target),
      `https://api.example.com${target}`,
      target,
    )
  }
})
