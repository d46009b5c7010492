import { createJwtVerifier } from '@bearerkit/jwt'
import { decodeJwt } from 'jose'
import t from 'tap'
import { createDpopProofVerifier } from '../../http/src/dpop/dpop-proof-verifier.js'
import {
  createDpopProof,
  createLocalAuthorizationServer,
  dpopThumbprint,
  generateKeyPair,
} from '../src/index.js'
import { basic, postForm } from './fixtures/oauth.js'

const RESOURCE = 'http://127.0.0.1:3000/mcp'

t.test('createDpopProof makes proofs a resource server accepts', async (t) => {
  const key = await generateKeyPair('ES256')
  const jkt = await dpopThumbprint(key)
  const proof = await createDpopProof({
    key,
    method: 'POST',
    url: `${RESOURCE}?session=1#x`,
    accessToken: 'token',
  })
  const claims = decodeJwt(proof)
  t.equal(claims.htu, RESOURCE, 'query and fragment dropped (RFC 9449 §4.2)')
  t.equal(decodeJwt(await createDpopProof({ key, url: RESOURCE, nonce: 'n-1' })).nonce, 'n-1')
  const verifier = createDpopProofVerifier()
  t.match(await verifier.verify({ method: 'POST', url: RESOURCE, proof, accessToken: 'token' }), {
    valid: true,
    jkt,
  })
  t.match(
    await verifier.verify({
      method: 'GET',
      url: RESOURCE,
      proof: await createDpopProof({ key, url: RESOURCE, claims: { htm: 'PUT' } }),
    }),
    { valid: false, reason: 'wrong_method' },
  )
  await t.rejects(createDpopProof({ key } as never), { code: 'ERR_INVALID_ARG_VALUE' })
})

t.test(
  'the local authorization server binds tokens to the key of a token request proof',
  async (t) => {
    for (const tokenFormat of ['jwt', 'opaque'] as const) {
      const as = await createLocalAuthorizationServer({ quiet: true, tokenFormat })
      t.teardown(() => as.close())
      const key = await generateKeyPair('ES256')
      const jkt = await dpopThumbprint(key)
      const request = async (dpop?: string) => {
        const response = await fetch(as.tokenEndpoint, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: basic('test-client', 'test-secret'),
            ...(dpop === undefined ? {} : { dpop }),
          },
          body: new URLSearchParams({ grant_type: 'client_credentials', resource: RESOURCE }),
        })
        return { status: response.status, body: await response.json() }
      }
      const bound = await request(
        await createDpopProof({ key, method: 'POST', url: as.tokenEndpoint }),
      )
      t.equal(bound.status, 200, tokenFormat)
      const body = bound.body as { access_token: string; token_type: string }
      t.equal(body.token_type, 'DPoP')
      if (tokenFormat === 'jwt') t.same(decodeJwt(body.access_token).cnf, { jkt })
      const introspected = await postForm(
        as.introspectionEndpoint,
        { token: body.access_token },
        { authorization: basic('test-client', 'test-secret') },
      )
      t.match(introspected.body, { active: true, token_type: 'DPoP', cnf: { jkt } })
      // Without a proof: a bearer token; with a proof for another URL or method: refused.
      t.equal(((await request()).body as { token_type: string }).token_type, 'Bearer')
      for (const proof of [
        await createDpopProof({ key, method: 'POST', url: `${as.tokenEndpoint}/x` }),
        await createDpopProof({ key, method: 'GET', url: as.tokenEndpoint }),
        await createDpopProof({ key, method: 'POST', url: as.tokenEndpoint, claims: { jti: '' } }),
        await createDpopProof({
          key,
          method: 'POST',
          url: as.tokenEndpoint,
          header: { jwk: key.privateJwk },
        }),
        'not a proof',
      ]) {
        const refused = await request(proof)
        t.equal(refused.status, 400)
        t.match(refused.body, { error: 'invalid_dpop_proof' })
      }
    }
  },
)

t.test('a DPoP-bound token from the local server verifies only with its proof key', async (t) => {
  const as = await createLocalAuthorizationServer({ quiet: true, defaultResource: RESOURCE })
  t.teardown(() => as.close())
  const key = await generateKeyPair('ES256')
  const token = await as.issueToken({ claims: { cnf: { jkt: await dpopThumbprint(key) } } })
  const verifier = createJwtVerifier({ issuer: as.issuer, audience: RESOURCE, jwksUri: as.jwksUri })
  t.teardown(() => verifier.close())
  t.equal(await verifier.verifyToken(token), null)
  const accepted = await verifier.verifyToken(token, {
    senderConstraint: { dpopJkt: await dpopThumbprint(key) },
  })
  t.same(accepted?.cnf, { jkt: await dpopThumbprint(key) })
})
