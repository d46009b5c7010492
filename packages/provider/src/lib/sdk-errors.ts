/**
 * The MCP SDK error classes `toMcpTokenVerifier` throws. The SDK's `requireBearerAuth` tells errors
 * apart with `instanceof`, so these must be the classes of the SDK copy that runs the middleware.
 */
export interface McpErrorClasses {
  InvalidTokenError: new (message: string) => Error
  ServerError: new (message: string) => Error
}

/** Where the MCP TypeScript SDK keeps its OAuth error classes. */
export const SDK_ERRORS = '@modelcontextprotocol/sdk/server/auth/errors.js'

/** Whether `value` holds both classes. */
export function isErrorClasses(value: unknown): value is McpErrorClasses {
  const v = value as Partial<McpErrorClasses> | null | undefined
  return typeof v?.InvalidTokenError === 'function' && typeof v.ServerError === 'function'
}

/**
 * A loader of the SDK's error classes that imports the module once, on first use, so that the SDK
 * stays an optional dependency. A failed import is not cached: the next call tries again.
 */
export function createSdkErrorLoader(
  importer: (specifier: string) => Promise<unknown>,
): () => Promise<McpErrorClasses> {
  let loading: Promise<McpErrorClasses> | undefined
  const fail = (cause?: unknown): never => {
    loading = undefined
    const error = new TypeError(
      `toMcpTokenVerifier needs ${SDK_ERRORS}: install @modelcontextprotocol/sdk or pass options.errors`,
      cause === undefined ? undefined : { cause },
    ) as TypeError & { code: string }
    error.code = 'ERR_MODULE_NOT_FOUND'
    throw error
  }
  return () => {
    loading ??= importer(SDK_ERRORS).then(
      (mod) => (isErrorClasses(mod) ? mod : fail()),
      (cause: unknown) => fail(cause),
    )
    return loading
  }
}
