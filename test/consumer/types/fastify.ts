// Type tests of the Fastify plugin's request decorations.
import Fastify from 'fastify'
import bearerAuth, { isBearerError, requireAccessToken } from '@bearerkit/fastify'
import type { AccessToken, TokenVerifier } from '@bearerkit/core'

export async function fastifyTypes(verifier: TokenVerifier): Promise<void> {
  const app = Fastify()
  await app.register(bearerAuth, { verifier })
  app.get('/me', async (request) => {
    const token: AccessToken = requireAccessToken(request)
    // @ts-expect-error accessToken may be null (public route) or undefined (scope without the plugin)
    const unchecked: AccessToken = request.accessToken
    void unchecked
    return { client: token.clientId, maybe: request.accessToken?.clientId }
  })
  app.setErrorHandler((error, _request, reply) => {
    if (isBearerError(error)) return reply.code(error.statusCode).send({ problem: error.code })
    return reply.send(error)
  })
  // @ts-expect-error a Promise of a verifier: `await` it first
  await app.register(bearerAuth, { verifier: Promise.resolve(verifier) })
}
