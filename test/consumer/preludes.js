// What a README block may use without declaring it: the values a reader has from the README's
// earlier blocks or from their own application (a token, a Fastify app, a logger). Each name maps
// to the one declaration the consumer test puts above a block that uses the name and does not
// declare it itself. The types are the real ones, so a snippet that passes the wrong thing still
// fails. A block that needs none of these is also run.
//
// Keep the list short: a name that only one block needs is better declared in that block.

const core = (name) => `import { ${name} } from '@bearerkit/core'`
const v = (name, type) => `declare const ${name}: ${type}`
const TOKEN_VERIFIER = "import('@bearerkit/core').TokenVerifier"
const PROVIDER = "import('@bearerkit/provider').OAuthAuthorizationServerProvider"
const CLIENT = "import('@bearerkit/provider').OAuthClientInformation"
const LOCAL_AS =
  "Awaited<ReturnType<typeof import('@bearerkit/testing').createLocalAuthorizationServer>>"
const KEY_PAIR = "Awaited<ReturnType<typeof import('@bearerkit/testing').generateKeyPair>>"

/** @type {Record<string, Record<string, string>>} */
export const PRELUDES = {
  // Every README.
  '*': {
    token: v('token', 'string'),
    verifier: v('verifier', TOKEN_VERIFIER),
    log: v('log', "import('fastify').FastifyBaseLogger"),
    app: v('app', "import('fastify').FastifyInstance"),
    issuer: v('issuer', 'string'),
    audience: v('audience', 'string'),
    assertion: v('assertion', 'string'),
    provider: v('provider', PROVIDER),
    client: v('client', CLIENT),
  },
  'README.md': {
    defaultConfig: v('defaultConfig', "import('@bearerkit/core').VerifierConfig"),
    resource: v('resource', "import('@bearerkit/http').ProtectedResourceOptions"),
    method: v('method', 'string'),
    url: v('url', 'string'),
    headers: v('headers', 'Headers'),
    config: v('config', "import('@bearerkit/core').VerifierConfig"),
  },
  'packages/core/README.md': {
    jwtVerifier: v('jwtVerifier', TOKEN_VERIFIER),
    AccessToken: "import type { AccessToken } from '@bearerkit/core'",
    VerifyOptions: "import type { VerifyOptions } from '@bearerkit/core'",
    allowList: v('allowList', 'Map<string, Record<string, unknown>>'),
    accessToken: v('accessToken', "import('@bearerkit/core').AccessToken"),
    other: v('other', "import('@bearerkit/core').AccessToken"),
    request: v('request', "import('node:http').IncomingMessage"),
    header: v('header', 'string'),
    inner: v('inner', TOKEN_VERIFIER),
    jwtVerifierA: v('jwtVerifierA', TOKEN_VERIFIER),
    jwtVerifierB: v('jwtVerifierB', TOKEN_VERIFIER),
    fallbackJwtVerifier: v('fallbackJwtVerifier', TOKEN_VERIFIER),
    introspectionVerifier: v('introspectionVerifier', TOKEN_VERIFIER),
    extractBearerToken: core('extractBearerToken'),
    formatChallenge: core('formatChallenge'),
    parseChallenge: core('parseChallenge'),
    createCachedVerifier: core('createCachedVerifier'),
    createCompositeVerifier: core('createCompositeVerifier'),
    defineVerifier: core('defineVerifier'),
    Refusal: core('Refusal'),
    accessTokenFromClaims: core('accessTokenFromClaims'),
    // A JWT decoder of the reader's choosing, for the max-age example.
    decode: v('decode', '(token: string) => { iat: number; [claim: string]: unknown }'),
    now: v('now', '() => number'),
  },
  'packages/client/README.md': {
    idpContext: v('idpContext', "import('@bearerkit/client').TokenEndpointContext"),
    downstreamContext: v('downstreamContext', "import('@bearerkit/client').TokenEndpointContext"),
    idToken: v('idToken', 'string'),
  },
  'packages/http/README.md': {
    createBearerGate: "import { createBearerGate } from '@bearerkit/http'",
    replayStore: v('replayStore', "import('@bearerkit/core').ReplayStore"),
    resource: v('resource', "import('@bearerkit/http').ProtectedResourceOptions"),
    method: v('method', 'string'),
    url: v('url', 'string'),
    headers: v('headers', 'Headers'),
  },
  'packages/redis/README.md': {
    // @fastify/redis decorates the app with its ioredis client.
    app: v('app', "{ redis: import('ioredis').Redis }"),
    stores: v('stores', "ReturnType<typeof import('@bearerkit/redis').createRedisStores>"),
    createCachedVerifier: core('createCachedVerifier'),
    jwtVerifier: v('jwtVerifier', TOKEN_VERIFIER),
  },
  // The DPoP and mTLS blocks of the Express and Hono READMEs build on their usage blocks.
  'packages/express/README.md': {
    app: v('app', "import('express').Express"),
    bearerAuth: "import { bearerAuth } from '@bearerkit/express'",
    resource: v('resource', "import('@bearerkit/express').ProtectedResourceOptions"),
    stores: v('stores', "ReturnType<typeof import('@bearerkit/core').createMemoryStores>"),
    key: v('key', 'string'),
    cert: v('cert', 'string'),
  },
  'packages/hono/README.md': {
    app: v('app', "import('hono').Hono<import('@bearerkit/hono').BearerEnv>"),
    bearerAuth: "import { bearerAuth } from '@bearerkit/hono'",
    resource: v('resource', "import('@bearerkit/hono').ProtectedResourceOptions"),
    stores: v('stores', "ReturnType<typeof import('@bearerkit/core').createMemoryStores>"),
    key: v('key', 'string'),
    cert: v('cert', 'string'),
  },
  'packages/fastify/README.md': {
    // The fastify README's blocks build on its first one: bearerAuth and isBearerError come from
    // the package, as a reader who installed only @bearerkit/fastify would import them.
    Fastify: "import Fastify from 'fastify'",
    cors: "import cors from '@fastify/cors'",
    bearerAuth: "import bearerAuth from '@bearerkit/fastify'",
    isBearerError: "import { isBearerError } from '@bearerkit/fastify'",
    handler: v('handler', "import('fastify').RouteHandlerMethod"),
    resource: v('resource', "import('@bearerkit/fastify').ProtectedResourceOptions"),
    transports: v('transports', 'Map<string, { close(): unknown }>'),
    stores: v(
      'stores',
      "Awaited<ReturnType<typeof import('@bearerkit/core').createStoresFromEnv>>",
    ),
    createSessionBinding: "import { createSessionBinding } from '@bearerkit/fastify'",
    id: v('id', 'string'),
    request: v('request', "import('fastify').FastifyRequest"),
  },
  'packages/id-jag/README.md': {
    partnerPublicKeyPem: v('partnerPublicKeyPem', 'string'),
    // A parsed token request: optional fields are absent or undefined.
    params: v('params', '{ assertion: string; scopes?: string[]; resource?: string }'),
    assertions: v(
      'assertions',
      "ReturnType<typeof import('@bearerkit/id-jag').createIdentityAssertionVerifier>",
    ),
    form: v('form', "import('@bearerkit/provider').TokenRequest"),
  },
  'packages/introspection/README.md': {
    createIntrospectionVerifier:
      "import { createIntrospectionVerifier } from '@bearerkit/introspection'",
  },
  'packages/jwt/README.md': {
    createJwtVerifier: "import { createJwtVerifier } from '@bearerkit/jwt'",
    secret: v('secret', 'Uint8Array'),
    legacyPem: v('legacyPem', 'string'),
    // What the caller's DPoP proof check (RFC 9449) and TLS layer (RFC 8705) established.
    proof: v('proof', '{ jkt: string }'),
    certificateThumbprint: v('certificateThumbprint', 'string'),
  },
  'packages/provider/README.md': {
    // The MCP SDK's requireBearerAuth is Express middleware.
    app: v('app', "import('express').Express"),
    resource: v('resource', 'string'),
    reply: v('reply', "import('fastify').FastifyReply"),
    query: v('query', "import('@bearerkit/provider').AuthorizationRequest"),
    form: v('form', "import('@bearerkit/provider').TokenRequest"),
    clientId: v('clientId', 'string'),
    clientSecret: v('clientSecret', 'string'),
    method: v('method', "import('@bearerkit/provider').ClientAuthMethod"),
    operatorClients: v('operatorClients', 'Set<string>'),
    session: v('session', '{ userId?: string }'),
  },
  'packages/testing/README.md': {
    t: "import t from 'tap'",
    generateKeyPair: "import { generateKeyPair } from '@bearerkit/testing'",
    createLocalAuthorizationServer:
      "import { createLocalAuthorizationServer } from '@bearerkit/testing'",
    pair: v('pair', KEY_PAIR),
    createToken: "import { createToken } from '@bearerkit/testing'",
    issuerKey: v('issuerKey', KEY_PAIR),
    clock: v('clock', 'number'),
    as: v('as', LOCAL_AS),
    a: v('a', 'string'),
    b: v('b', 'string'),
  },
}
