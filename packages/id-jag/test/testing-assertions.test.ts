// The ID-JAGs minted by @bearerkit/testing, valid and broken, against the verifier.
import t from 'tap'
import {
  BROKEN_IDENTITY_ASSERTION_KINDS,
  TEST_AS_ISSUER,
  TEST_CLIENT_ID,
  TEST_IDP_ISSUER,
  TEST_RESOURCE,
  createBrokenIdentityAssertion,
  createIdentityAssertion,
  generateKeyPair,
} from '@bearerkit/testing'
import { createIdentityAssertionVerifier } from '../src/index.js'

const idp = await generateKeyPair('ES256')
const verifier = createIdentityAssertionVerifier({
  issuer: TEST_AS_ISSUER,
  trustedIssuers: { [TEST_IDP_ISSUER]: { key: idp.publicPem } },
  resources: [TEST_RESOURCE],
})
const client = { client_id: TEST_CLIENT_ID }

t.test('a minted ID-JAG verifies with the defaults of both packages', async (t) => {
  const assertion = await createIdentityAssertion({ key: idp, scopes: ['files:read'] })
  const grant = await verifier.verify(assertion, { client })
  t.match(grant, { resource: TEST_RESOURCE, clientId: TEST_CLIENT_ID, scopes: ['files:read'] })
})

t.test('every broken kind is refused with the token endpoint error it deserves', async (t) => {
  for (const kind of BROKEN_IDENTITY_ASSERTION_KINDS) {
    const assertion = await createBrokenIdentityAssertion(kind, { key: idp })
    await t.rejects(
      verifier.verify(assertion, { client }),
      { code: 'ERR_OAUTH_TOKEN', error: 'invalid_grant' },
      kind,
    )
  }
  t.equal(BROKEN_IDENTITY_ASSERTION_KINDS.length, 12)
})

t.test('minting options are checked', async (t) => {
  await t.rejects(createIdentityAssertion(null as never), { code: 'ERR_INVALID_ARG_VALUE' })
  await t.rejects(createIdentityAssertion({ key: idp, resource: 5 as never }), {
    message: /^options\.resource /,
  })
  await t.rejects(createBrokenIdentityAssertion('nope' as never, { key: idp }), {
    message: /^kind must be one of/,
  })
  const custom = await createIdentityAssertion({
    key: idp,
    resource: null,
    claims: { resource: 'https://x.example/' },
  })
  const payload = JSON.parse(
    Buffer.from(custom.split('.')[1] as string, 'base64url').toString(),
  ) as {
    resource: string
  }
  t.equal(payload.resource, 'https://x.example/')
})
