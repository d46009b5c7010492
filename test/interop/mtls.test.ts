// RFC 8705 certificate-bound access tokens against oidc-provider (`features.mTLS` with
// `certificateBoundAccessTokens`) over real TLS on 127.0.0.1. The client presents its certificate
// at the token endpoint; oidc-provider writes the certificate's SHA-256 thumbprint into the JWT
// (`cnf["x5t#S256"]`); the resource server compares it with the certificate of its own TLS
// connection. Certificates are made here with the openssl CLI.
import { execFileSync } from 'node:child_process'
import { X509Certificate, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { request as httpsRequest, createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import t from 'tap'
import type { RefusalCode } from '@bearerkit/core'
import { createJwtVerifier } from '@bearerkit/jwt'
import { certificateThumbprint } from '../../packages/http/src/dpop/certificate-thumbprint.js'
import { loopbackOnly } from './fixtures/network.js'

loopbackOnly(t)

const RESOURCE = 'https://mtls.interop.test/mcp'
const dir = mkdtempSync(join(tmpdir(), 'bearerkit-mtls-'))

interface Pem {
  key: string
  cert: string
}

/** A self-signed P-256 certificate (for 127.0.0.1 when `server`). */
function certificate(name: string, server = false): Pem {
  const key = join(dir, `${name}.key`)
  const cert = join(dir, `${name}.crt`)
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      ...(server ? ['-addext', 'subjectAltName=IP:127.0.0.1'] : []),
    ],
    { stdio: 'ignore' },
  )
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') }
}

const serverPem = certificate('127.0.0.1', true)
const clientPem = certificate('client-a')
const otherPem = certificate('client-b')

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

/** One HTTPS request on a fresh connection, with the client certificate when given. */
function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; client?: Pem },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        ca: serverPem.cert,
        agent: false,
        ...(options.client === undefined
          ? {}
          : { key: options.client.key, cert: options.client.cert }),
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

// The authorization server: oidc-provider over https, asking for (not requiring) a client
// certificate, binding the tokens of a client registered for certificate-bound tokens.
const { Provider } = await import('oidc-provider')
const clientSecret = randomBytes(24).toString('base64url')
const opServer = createServer({ ...serverPem, requestCert: true, rejectUnauthorized: false })
const opPort = await listen(opServer)
const issuer = `https://127.0.0.1:${opPort}`
const { privateKey: signing } = await import('node:crypto').then(({ generateKeyPairSync }) =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }),
)
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'mtls-app',
      client_secret: clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      tls_client_certificate_bound_access_tokens: true,
      // The provider holds one P-256 key only.
      id_token_signed_response_alg: 'ES256',
    },
  ],
  jwks: { keys: [{ ...signing.export({ format: 'jwk' }), kid: 'es', alg: 'ES256', use: 'sig' }] },
  cookies: { keys: [randomBytes(16).toString('hex')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      getCertificate: (ctx: { socket: TLSSocket }) => {
        const peer = ctx.socket.getPeerCertificate()
        return peer?.raw === undefined ? undefined : new X509Certificate(peer.raw)
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => false,
      getResourceServerInfo: () => ({
        scope: 'mcp:read',
        audience: RESOURCE,
        accessTokenFormat: 'jwt',
        accessTokenTTL: 600,
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  fetch: () => Promise.reject(new Error('the interop authorization server must not fetch')),
})
opServer.on('request', provider.callback())
t.teardown(() => {
  opServer.closeAllConnections()
  opServer.close()
})

async function issueToken(
  client?: Pem,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await send(`${issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`mtls-app:${clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: RESOURCE }).toString(),
    ...(client === undefined ? {} : { client }),
  })
  return { status: response.status, body: JSON.parse(response.body) as Record<string, unknown> }
}

const jwks = JSON.parse((await send(`${issuer}/jwks`, {})).body) as { keys: unknown[] }
const verifier = createJwtVerifier({ issuer, audience: RESOURCE, key: jwks })
t.teardown(() => verifier.close())

// The resource server: TLS terminated here, the client certificate from the connection.
const rsServer = createServer({ ...serverPem, requestCert: true, rejectUnauthorized: false })
rsServer.on('request', (req, res) => {
  const raw = (req.socket as TLSSocket).getPeerCertificate().raw as Buffer | undefined
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? ''
  let code: RefusalCode | undefined
  const senderConstraint =
    raw === undefined ? {} : { certificateThumbprint: certificateThumbprint(raw) }
  verifier
    .verifyToken(token, { senderConstraint, onRefusal: (refusal) => (code = refusal.code) })
    .then(
      (accessToken) => {
        res.writeHead(accessToken === null ? 401 : 200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(accessToken === null ? { code } : { cnf: accessToken.cnf }))
      },
      () => res.writeHead(503).end(),
    )
})
const rsPort = await listen(rsServer)
t.teardown(() => {
  rsServer.closeAllConnections()
  rsServer.close()
})
const rsUrl = `https://127.0.0.1:${rsPort}/mcp`

t.test('oidc-provider binds the token to the client certificate (x5t#S256)', async (t) => {
  const issued = await issueToken(clientPem)
  // On failure the error code tells why; the body of a success holds a token, never printed.
  t.equal(issued.status, 200, `token request: ${JSON.stringify(issued.body.error ?? 'ok')}`)
  const token = issued.body.access_token as string
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
    cnf?: Record<string, unknown>
  }
  const thumbprint = certificateThumbprint(new X509Certificate(clientPem.cert).raw)
  t.same(claims.cnf, { 'x5t#S256': thumbprint })
  // Without a certificate, oidc-provider refuses to issue a token to this client.
  t.equal((await issueToken()).status, 400)
})

t.test(
  'the resource server accepts the token only over a connection with that certificate',
  async (t) => {
    const token = (await issueToken(clientPem)).body.access_token as string
    const headers = { authorization: `Bearer ${token}` }
    const thumbprint = certificateThumbprint(new X509Certificate(clientPem.cert).raw)
    const same = await send(rsUrl, { headers, client: clientPem })
    t.equal(same.status, 200)
    t.same(JSON.parse(same.body), { cnf: { 'x5t#S256': thumbprint } })
    // A stolen token over a connection with another certificate, or with none.
    t.same(await send(rsUrl, { headers, client: otherPem }), {
      status: 401,
      body: JSON.stringify({ code: 'sender_constrained' }),
    })
    t.same(await send(rsUrl, { headers }), {
      status: 401,
      body: JSON.stringify({ code: 'sender_constrained' }),
    })
    // A direct call without any proof context keeps refusing it.
    let code: RefusalCode | undefined
    t.equal(await verifier.verifyToken(token, { onRefusal: (r) => (code = r.code) }), null)
    t.equal(code, 'sender_constrained')
  },
)
