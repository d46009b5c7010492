// Type tests of core's discriminated VerifierConfig and createVerifier's overloads, checked by
// `npm run typecheck` against the workspace and by test/consumer/check.js against the packed
// packages. Every `@ts-expect-error` must stay an error: TypeScript fails an unused one.
import {
  createVerifier,
  verifierConfigFromEnv,
  type ConfiguredVerifier,
  type VerifierConfig,
} from '@bearerkit/core'
// Importing the packages' types is what brings in their exact option types.
import type { JwtVerifierOptions } from '@bearerkit/jwt'
import type { IntrospectionVerifierOptions } from '@bearerkit/introspection'

export async function configTypes(): Promise<void> {
  const jwt = await createVerifier({
    type: 'jwt',
    issuer: 'https://login.example.com/',
    audience: 'https://api.example.com/mcp',
    jwks: { maxAge: 300, cooldown: 30, timeout: 2000 },
    cache: { ttl: 60 },
  })
  // The overloads keep what the README promises.
  await jwt.ready()
  await jwt.close()

  const introspection = await createVerifier({
    type: 'introspection',
    issuer: 'https://login.example.com/',
    audience: 'https://api.example.com/mcp',
    clientId: 'rs',
    // exactOptionalPropertyTypes: an unset variable is `undefined`, and that is accepted.
    clientSecret: process.env.INTROSPECTION_SECRET,
  })
  introspection.clear()
  const size: number = introspection.size
  void size

  await createVerifier({
    type: 'jwt',
    audience: 'https://api.example.com/mcp',
    issuers: [
      { issuer: 'https://login.example.com/' },
      { issuer: 'https://partner.example.net', jwksUri: 'https://partner.example.net/keys' },
    ],
    key: process.env.ISSUER_PUBLIC_KEY,
  })

  const composite: ConfiguredVerifier = await createVerifier({
    type: 'composite',
    jwt: {
      type: 'jwt',
      issuer: 'https://login.example.com/',
      audience: 'https://api.example.com/mcp',
    },
    opaque: {
      type: 'introspection',
      issuer: 'https://login.example.com/',
      audience: 'https://api.example.com/mcp',
    },
  })
  await composite.ready()

  const fromEnv: VerifierConfig | null = verifierConfigFromEnv(process.env)
  if (fromEnv !== null) {
    const verifier = await createVerifier(fromEnv)
    await verifier.close()
  }

  // @ts-expect-error a misspelt option is caught (jwksUrl for jwksUri)
  await createVerifier({
    type: 'jwt',
    issuer: 'https://as',
    audience: 'a',
    jwksUrl: 'https://as/k',
  })
  // @ts-expect-error audience is required (null opts out)
  await createVerifier({ type: 'jwt', issuer: 'https://as' })
  // @ts-expect-error an unknown verifier type
  await createVerifier({ type: 'saml', audience: 'a' })
  // @ts-expect-error jwt options do not belong to introspection
  await createVerifier({ type: 'introspection', issuer: 'https://as', audience: 'a', jwksUri: 'x' })
  const nested: VerifierConfig = {
    type: 'composite',
    // @ts-expect-error a composite cannot hold a composite
    jwt: { type: 'composite', opaque: { type: 'introspection', audience: null } },
  }
  void nested
  // @ts-expect-error a Promise is not a config: await verifierConfigFromEnv's caller first
  await createVerifier(Promise.resolve({ type: 'jwt', audience: 'a' }))

  // The config types are the packages' own option types.
  const options: JwtVerifierOptions = { issuer: 'https://as', audience: null, key: undefined }
  const introspectionOptions: IntrospectionVerifierOptions = {
    issuer: 'https://as',
    audience: null,
    clientSecret: undefined,
  }
  await createVerifier({ type: 'jwt', ...options })
  await createVerifier({ type: 'introspection', ...introspectionOptions })
}
