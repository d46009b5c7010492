import t from 'tap'
import {
  authenticateClient,
  createMemoryProvider,
  createProviderVerifier,
  handleTokenRequest,
} from '@bearerkit/provider'
import {
  JWT_BEARER_GRANT_TYPE,
  createIdentityAssertionVerifier,
  identityAssertionHook,
} from '../src/index.js'
import { AS_ISSUER, CLIENT_ID, IDP, RESOURCE, createIdp, mintAssertion } from './fixtures/idp.js'

const idp = await createIdp('idp-key')

const setUp = async () => {
  const assertions = createIdentityAssertionVerifier({
    issuer: AS_ISSUER,
    trustedIssuers: { [IDP]: { key: { keys: [idp.publicJwk] } } },
    resources: [RESOURCE],
  })
  const provider = createMemoryProvider({
    issuer: AS_ISSUER,
    resources: [RESOURCE, 'https://other.example.com/api'],
    identityAssertion: identityAssertionHook(assertions),
  })
  await provider.registerClient({
    client_id: CLIENT_ID,
    client_secret: 'agent-secret',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: [JWT_BEARER_GRANT_TYPE],
    redirect_uris: ['https://agent.example/callback'],
  })
  const token = async (form: Record<string, string>, secret = 'agent-secret') => {
    const client = await authenticateClient(provider, {
      clientId: CLIENT_ID,
      clientSecret: secret,
      method: 'client_secret_post',
    })
    return handleTokenRequest(provider, client, { grant_type: JWT_BEARER_GRANT_TYPE, ...form })
  }
  return { provider, token }
}

t.test('jwt-bearer grant end to end against the reference provider', async (t) => {
  const { provider, token } = await setUp()
  const answer = await token({ assertion: await mintAssertion(idp), scope: 'files:read admin' })
  t.match(answer, { token_type: /^bearer$/i, scope: 'files:read' })
  t.equal(answer.refresh_token, undefined, 'no refresh token for an assertion grant')

  const verifier = createProviderVerifier(provider, { audience: RESOURCE })
  const accessToken = await verifier.verifyToken(answer.access_token)
  t.match(accessToken, {
    clientId: CLIENT_ID,
    subject: 'alice@example.org',
    scopes: ['files:read'],
    resource: RESOURCE,
  })
  const elsewhere = createProviderVerifier(provider, { audience: 'https://other.example.com/api' })
  t.equal(await elsewhere.verifyToken(answer.access_token), null, 'audience-restricted')
})

t.test('refusals come back as token endpoint errors', async (t) => {
  const { token } = await setUp()
  const assertion = await mintAssertion(idp)
  await token({ assertion })
  await t.rejects(token({ assertion }), { code: 'ERR_OAUTH_TOKEN', error: 'invalid_grant' })
  await t.rejects(
    token({ assertion: await mintAssertion(idp, { claims: { client_id: 'other' } }) }),
    { code: 'ERR_OAUTH_TOKEN', error: 'invalid_grant' },
  )
  await t.rejects(
    token({ assertion: await mintAssertion(idp), resource: 'https://other.example.com/api' }),
    { code: 'ERR_OAUTH_TOKEN', error: 'invalid_target' },
  )
  await t.rejects(token({ assertion: await mintAssertion(idp) }, 'wrong-secret'), {
    code: 'ERR_OAUTH_TOKEN',
    error: 'invalid_client',
  })
})
