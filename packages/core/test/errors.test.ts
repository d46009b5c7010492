import t from 'tap'
import {
  BearerError,
  MissingTokenError,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  VerifierUnavailableError,
  invalidArgument,
  isBearerError,
  isVerifierUnavailable,
} from '../src/index.js'

t.test('each error carries its stable code, RFC 6750 error and status', async (t) => {
  const cause = new Error('root')
  const request = new InvalidRequestError(undefined, { cause })
  t.match(request, { code: 'ERR_INVALID_REQUEST', error: 'invalid_request', statusCode: 400 })
  t.equal(request.cause, cause)
  t.equal(request.name, 'InvalidRequestError')
  t.ok(request instanceof BearerError)

  const token = new InvalidTokenError('expired', { reason: 'expired' })
  t.match(token, { code: 'ERR_INVALID_TOKEN', error: 'invalid_token', statusCode: 401 })
  t.equal(token.reason, 'expired')
  t.equal(new InvalidTokenError().message, 'The access token is invalid')
  t.equal(new InvalidTokenError().cause, undefined)

  const scope = new InsufficientScopeError(['a', 'b'])
  t.match(scope, { code: 'ERR_INSUFFICIENT_SCOPE', error: 'insufficient_scope', statusCode: 403 })
  t.same(scope.scopes, ['a', 'b'])

  const down = new VerifierUnavailableError('JWKS down', { retryAfter: 2.2, reason: 'timeout' })
  t.match(down, { code: 'ERR_VERIFIER_UNAVAILABLE', error: undefined, statusCode: 503 })
  t.equal(down.retryAfter, 3)
  t.equal(down.reason, 'timeout')
  t.same(down.headers, { 'retry-after': '3' })
  const plain = new VerifierUnavailableError()
  t.same(plain.headers, {})
  t.equal(plain.retryAfter, undefined)
  t.equal(new VerifierUnavailableError('x', { retryAfter: -5 }).retryAfter, 0)
})

t.test('MissingTokenError is a 401 without an RFC 6750 error code', async (t) => {
  const missing = new MissingTokenError()
  t.match(missing, { code: 'ERR_MISSING_TOKEN', error: undefined, statusCode: 401 })
  t.equal(missing.message, 'Authentication is required')
  t.equal(isBearerError(missing), true)
})

t.test('code-based guards work across copies and refuse look-alikes', async (t) => {
  t.equal(isBearerError(new InvalidTokenError()), true)
  t.equal(isBearerError(new VerifierUnavailableError()), true)
  const foreign = Object.assign(new Error('x'), { code: 'ERR_INVALID_TOKEN', statusCode: 401 })
  t.equal(isBearerError(foreign), true, 'another copy of the package')
  t.equal(
    isBearerError(Object.assign(new Error('x'), { code: 'ERR_OTHER', statusCode: 401 })),
    false,
  )
  t.equal(isBearerError({ code: 'ERR_INVALID_TOKEN', statusCode: 401 }), false, 'not an Error')
  t.equal(isBearerError(Object.assign(new Error('x'), { code: 'ERR_INVALID_TOKEN' })), false)
  t.equal(isVerifierUnavailable(new VerifierUnavailableError()), true)
  t.equal(isVerifierUnavailable(new InvalidTokenError()), false)
  t.equal(isVerifierUnavailable('ERR_VERIFIER_UNAVAILABLE'), false)
})

t.test('invalidArgument names the option', async (t) => {
  const error = invalidArgument('options.audience', 'must be a string')
  t.ok(error instanceof TypeError)
  t.equal(error.code, 'ERR_INVALID_ARG_VALUE')
  t.equal(error.message, 'options.audience must be a string')
})

t.test('InvalidTokenError.upstreamStatus is never assigned: removed', async (t) => {
  // A refusal is a verdict on the token, never an upstream status; the field that was declared
  // and never set is gone, so nothing can branch on a value that is always undefined.
  const error = new InvalidTokenError('expired', { reason: 'expired' })
  t.equal(Object.hasOwn(error, 'upstreamStatus'), false)
  t.equal('upstreamStatus' in error, false)
  // The 503 keeps it, assigned from its options.
  const unavailable = new VerifierUnavailableError('down', {
    reason: 'status',
    upstreamStatus: 502,
  })
  t.equal(unavailable.upstreamStatus, 502)
})
