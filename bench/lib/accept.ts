import type { TokenVerifier } from '@bearerkit/core'

/** Fails the run loudly when a contender does not accept the token it is measured on. */
export async function mustAccept(
  name: string,
  verifier: TokenVerifier,
  token: string,
): Promise<void> {
  const result = await verifier.verifyToken(token, {
    onRefusal: (refusal) => {
      throw new Error(`${name} refused the benchmark token: ${refusal.code}`)
    },
  })
  if (result === null) throw new Error(`${name} refused the benchmark token`)
}
