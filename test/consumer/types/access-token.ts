// Type tests of AccessToken's JSON form.
import { accessTokenFromClaims, Refusal, type AccessTokenJson } from '@bearerkit/core'

export function accessTokenTypes(): void {
  const built = accessTokenFromClaims('opaque-token', { client_id: 'c' })
  if (built instanceof Refusal) return
  const raw: string = built.token // the token stays readable
  void raw
  const json: AccessTokenJson | undefined = built.toJSON?.()
  if (json === undefined) return
  const fingerprint: string = json.tokenFingerprint
  const client: string = json.clientId
  void fingerprint
  void client
  // @ts-expect-error the JSON form has no token
  void json.token
}
