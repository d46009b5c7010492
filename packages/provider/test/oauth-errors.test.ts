import t from 'tap'
import {
  AuthorizeError,
  BaseAuthorizationServerProvider,
  RegistrationError,
  TokenError,
  isAuthorizeError,
  isRegistrationError,
  isTokenError,
  unsupportedIdentityAssertion,
  type OAuthClientInformation,
} from '../src/index.js'
import { confidentialClient } from './fixtures/flow.js'

t.test('TokenError: every RFC 6749 §5.2 code, plus invalid_target', async (t) => {
  const codes = [
    'invalid_request',
    'invalid_client',
    'invalid_grant',
    'unauthorized_client',
    'unsupported_grant_type',
    'invalid_scope',
    'invalid_target',
  ] as const
  for (const code of codes) {
    const error = new TokenError(code, 'Something about it')
    t.equal(error.code, 'ERR_OAUTH_TOKEN')
    t.equal(TokenError.code, 'ERR_OAUTH_TOKEN')
    t.equal(error.error, code)
    t.equal(error.name, 'TokenError')
    t.equal(error.statusCode, code === 'invalid_client' ? 401 : 400, code)
    t.equal(error.message, `${code}: Something about it`)
    t.same(error.toResponse(), { error: code, error_description: 'Something about it' })
    t.ok(error instanceof Error)
  }
})

t.test('AuthorizeError: every RFC 6749 §4.1.2.1 code, plus invalid_target', async (t) => {
  const codes = [
    'invalid_request',
    'unauthorized_client',
    'access_denied',
    'unsupported_response_type',
    'invalid_scope',
    'server_error',
    'temporarily_unavailable',
    'invalid_target',
  ] as const
  for (const code of codes) {
    const error = new AuthorizeError(code)
    t.equal(error.code, 'ERR_OAUTH_AUTHORIZE')
    t.equal(error.error, code)
    t.equal(error.message, code)
    t.equal(error.errorDescription, undefined)
    t.same(error.toResponse(), { error: code })
  }
})

t.test('RegistrationError: every RFC 7591 §3.2.2 code, status 400', async (t) => {
  const codes = [
    'invalid_redirect_uri',
    'invalid_client_metadata',
    'invalid_software_statement',
    'unapproved_software_statement',
  ] as const
  for (const code of codes) {
    const error = new RegistrationError(code, 'no')
    t.equal(error.code, 'ERR_OAUTH_REGISTRATION')
    t.equal(error.statusCode, 400)
    t.same(error.toResponse(), { error: code, error_description: 'no' })
  }
})

t.test('an error code from another endpoint is refused at construction', async (t) => {
  const wrong: Array<() => unknown> = [
    () => new TokenError('access_denied' as never),
    () => new AuthorizeError('invalid_grant' as never),
    () => new RegistrationError('invalid_request' as never),
    () => new TokenError('' as never),
  ]
  for (const make of wrong) {
    t.throws(make, { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /^error / })
  }
})

t.test('descriptions are restricted to the RFC 6749 character set', async (t) => {
  const error = new TokenError('invalid_grant', 'bad "code"\r\nSet-Cookie: x\\y é')
  t.equal(error.errorDescription, 'bad ?code???Set-Cookie: x?y ?')
  t.equal(error.toResponse().error_description, 'bad ?code???Set-Cookie: x?y ?')
})

t.test('cause is kept', async (t) => {
  const cause = new Error('db down')
  t.equal(new TokenError('invalid_request', 'x', { cause }).cause, cause)
  t.equal(new AuthorizeError('server_error', undefined, { cause }).cause, cause)
  t.equal(new RegistrationError('invalid_client_metadata', 'x', { cause }).cause, cause)
  t.equal(new TokenError('invalid_request').cause, undefined)
})

t.test('is* helpers judge by code, across copies', async (t) => {
  const token = new TokenError('invalid_grant')
  const authorize = new AuthorizeError('access_denied')
  const registration = new RegistrationError('invalid_redirect_uri')
  t.equal(isTokenError(token), true)
  t.equal(isTokenError(authorize), false)
  t.equal(isAuthorizeError(authorize), true)
  t.equal(isAuthorizeError(registration), false)
  t.equal(isRegistrationError(registration), true)
  t.equal(isRegistrationError(token), false)
  const foreign = Object.assign(new Error('x'), { code: 'ERR_OAUTH_TOKEN' })
  t.equal(isTokenError(foreign), true)
  t.equal(isTokenError({ code: 'ERR_OAUTH_TOKEN' }), false, 'not an Error')
  t.equal(isTokenError(null), false)
})

t.test('unsupportedIdentityAssertion rejects with unsupported_grant_type', async (t) => {
  await t.rejects(unsupportedIdentityAssertion(confidentialClient(), { assertion: 'a.b.c' }), {
    code: 'ERR_OAUTH_TOKEN',
    error: 'unsupported_grant_type',
    statusCode: 400,
  })
})

t.test('BaseAuthorizationServerProvider supplies the default', async (t) => {
  class Minimal extends BaseAuthorizationServerProvider {
    getClient = (): Promise<OAuthClientInformation | null> => Promise.resolve(null)
    registerClient = (): Promise<void> => Promise.resolve()
    authorize = (): Promise<string> => Promise.resolve('https://x')
    loadAuthorizationCode = (): Promise<null> => Promise.resolve(null)
    exchangeAuthorizationCode = (): Promise<never> =>
      Promise.reject(new TokenError('invalid_grant'))
    loadRefreshToken = (): Promise<null> => Promise.resolve(null)
    exchangeRefreshToken = (): Promise<never> => Promise.reject(new TokenError('invalid_grant'))
    loadAccessToken = (): Promise<null> => Promise.resolve(null)
    revokeToken = (): Promise<void> => Promise.resolve()
  }
  const error = await new Minimal()
    .exchangeIdentityAssertion(confidentialClient(), { assertion: 'x', scopes: ['a'] })
    .then(
      () => undefined,
      (e: unknown) => e as TokenError,
    )
  t.equal(error?.error, 'unsupported_grant_type')
  t.equal(
    error?.errorDescription,
    'The JWT bearer grant is not supported by this authorization server',
  )
})
