import { invalidArgument } from '@bearerkit/core'

/**
 * The RFC 8707 resource indicator every request of the client carries: a non-empty absolute URI
 * without a fragment. There is no default and no opting out, because a token without an audience
 * restriction could be replayed at any resource that trusts the same authorization server.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2 RFC 8707 §2
 */
export function readResource(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw invalidArgument(option, 'must be a non-empty resource indicator (RFC 8707)')
  }
  if (!URL.canParse(value) || value.includes('#')) {
    throw invalidArgument(option, 'must be an absolute URI without a fragment (RFC 8707 §2)')
  }
  return value
}

/** An optional space-delimited scope string (RFC 6749 §3.3): non-empty when given. */
export function readScope(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (
    typeof value !== 'string' ||
    !/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/.test(value)
  ) {
    throw invalidArgument(option, 'must be space-delimited scope tokens (RFC 6749 §3.3)')
  }
  return value
}
