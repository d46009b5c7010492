import t from 'tap'
import { principalComponents, samePrincipal, type AccessToken } from '@bearerkit/core'
import {
  authenticateClient,
  createMemoryProvider,
  createProviderVerifier,
  handleTokenRequest,
  type MemoryProviderOptions,
} from '@bearerkit/provider'
import {
  JWT_BEARER_GRANT_TYPE,
  createIdentityAssertionVerifier,
  identityAssertionHook,
  namespacedSubject,
  type IdentityAssertionHookOptions,
} from '../src/index.js'
import {
  AS_ISSUER,
  CLIENT_ID,
  IDP,
  OTHER_IDP,
  RESOURCE,
  createIdp,
  mintAssertion,
} from './fixtures/idp.js'

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
  t.equal(accessToken?.subject, `${IDP}#alice@example.org`)
  t.match(accessToken, {
    clientId: CLIENT_ID,
    subject: `${IDP}#alice@example.org`,
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

// Two trusted identity providers, a provider with a clock the test moves, and a token helper.
const twoIdps = async (
  hook: IdentityAssertionHookOptions = {},
  provider: Partial<MemoryProviderOptions> = {},
) => {
  const otherIdp = await createIdp('other-key')
  const nowMs = Date.UTC(2030, 0, 1)
  const assertions = createIdentityAssertionVerifier({
    issuer: AS_ISSUER,
    trustedIssuers: {
      [IDP]: { key: { keys: [idp.publicJwk] } },
      [OTHER_IDP]: { key: { keys: [otherIdp.publicJwk] } },
    },
    resources: [RESOURCE],
    now: () => nowMs,
  })
  const memory = createMemoryProvider({
    issuer: AS_ISSUER,
    resources: [RESOURCE],
    identityAssertion: identityAssertionHook(assertions, hook),
    now: () => nowMs,
    ...provider,
  })
  const client = {
    client_id: CLIENT_ID,
    client_secret: 'agent-secret',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: [JWT_BEARER_GRANT_TYPE],
    redirect_uris: ['https://agent.example/callback'],
  }
  await memory.registerClient(client)
  const verifier = createProviderVerifier(memory, { audience: RESOURCE, now: () => nowMs })
  const redeem = async (assertion: string) => {
    const answer = await handleTokenRequest(memory, client, {
      grant_type: JWT_BEARER_GRANT_TYPE,
      assertion,
    })
    return { answer, accessToken: await verifier.verifyToken(answer.access_token) }
  }
  return { otherIdp, redeem, nowSeconds: nowMs / 1000 }
}

t.test(
  'the same sub from two trusted identity providers becomes one user (finding 3)',
  async (t) => {
    const { otherIdp, redeem, nowSeconds } = await twoIdps()
    const fromA = await redeem(await mintAssertion(idp, { nowSeconds, claims: { sub: 'alice' } }))
    const fromB = await redeem(
      await mintAssertion(otherIdp, { nowSeconds, claims: { sub: 'alice', iss: OTHER_IDP } }),
    )
    if (fromA.accessToken === null || fromB.accessToken === null) throw new Error('refused')
    t.equal(fromA.accessToken.subject, `${IDP}#alice`)
    t.equal(fromB.accessToken.subject, `${OTHER_IDP}#alice`)
    t.equal(
      samePrincipal(principalComponents(fromA.accessToken), principalComponents(fromB.accessToken)),
      false,
      'two users, two principals',
    )
    t.same(principalComponents(fromA.accessToken), [CLIENT_ID, AS_ISSUER, `${IDP}#alice`])
    // A sub crafted to look like another provider's namespaced subject stays in its own namespace.
    const crafted = await redeem(
      await mintAssertion(otherIdp, {
        nowSeconds,
        claims: { sub: `${IDP}#alice`, iss: OTHER_IDP },
      }),
    )
    t.equal(crafted.accessToken?.subject, `${OTHER_IDP}#${IDP}#alice`)
    t.equal(
      samePrincipal(
        principalComponents(fromA.accessToken),
        principalComponents(crafted.accessToken as AccessToken),
      ),
      false,
    )
    t.equal(namespacedSubject({ issuer: IDP, subject: 'bob' }), `${IDP}#bob`)
    // A mapping of one's own replaces the default.
    const mapped = await twoIdps({ subject: (grant) => `user:${grant.subject}` })
    const own = await mapped.redeem(
      await mintAssertion(idp, { nowSeconds, claims: { sub: 'carol' } }),
    )
    t.equal(own.accessToken?.subject, 'user:carol')
  },
)

t.test('the ID-JAG access token outlives its assertion by default (finding 5)', async (t) => {
  // An assertion expiring in 30 s.
  const byDefault = await twoIdps({}, { accessTokenLifetime: 600 })
  const short = (nowSeconds: number) =>
    mintAssertion(idp, { nowSeconds, claims: { exp: nowSeconds + 30 } })
  const plain = await byDefault.redeem(await short(byDefault.nowSeconds))
  // Default: the provider's configured maximum, and no more (here 600 s, not 3600).
  t.equal(plain.answer.expires_in, 600)
  t.equal(plain.accessToken?.expiresAt, byDefault.nowSeconds + 600)
  // capAtAssertionExpiry: never later than the assertion's exp.
  const capped = await twoIdps({ capAtAssertionExpiry: true }, { accessTokenLifetime: 600 })
  const bounded = await capped.redeem(await short(capped.nowSeconds))
  t.equal(bounded.answer.expires_in, 30)
  t.equal(bounded.accessToken?.expiresAt, capped.nowSeconds + 30)
  // An assertion outliving the provider's lifetime is capped by the provider's lifetime.
  const long = await capped.redeem(
    await mintAssertion(idp, {
      nowSeconds: capped.nowSeconds,
      claims: { exp: capped.nowSeconds + 290 },
    }),
  )
  t.equal(long.answer.expires_in, 290)
  const longer = await twoIdps({ capAtAssertionExpiry: true }, { accessTokenLifetime: 60 })
  const sixty = await longer.redeem(
    await mintAssertion(idp, {
      nowSeconds: longer.nowSeconds,
      claims: { exp: longer.nowSeconds + 290 },
    }),
  )
  t.equal(sixty.answer.expires_in, 60)
  // Accepted within the clock leeway but already past exp: nothing is issued.
  const expired = await mintAssertion(idp, {
    nowSeconds: capped.nowSeconds,
    claims: { iat: capped.nowSeconds - 60, exp: capped.nowSeconds - 10 },
  })
  await t.rejects(capped.redeem(expired), { code: 'ERR_OAUTH_TOKEN', error: 'invalid_grant' })
})

t.test('identityAssertionHook options are checked', async (t) => {
  const assertions = createIdentityAssertionVerifier({
    issuer: AS_ISSUER,
    trustedIssuers: { [IDP]: { key: { keys: [idp.publicJwk] } } },
    resources: [RESOURCE],
  })
  const cases: Array<[unknown, RegExp]> = [
    [null, /^options must be an object/],
    [{ subject: 'sub' }, /^options\.subject must be a function/],
    [{ capAtAssertionExpiry: 'yes' }, /^options\.capAtAssertionExpiry must be true or false/],
    [{ capAtAssertionExpiration: true }, /did you mean `capAtAssertionExpiry`/],
  ]
  for (const [options, message] of cases) {
    t.throws(() => identityAssertionHook(assertions, options as IdentityAssertionHookOptions), {
      code: 'ERR_INVALID_ARG_VALUE',
      message,
    })
  }
})
