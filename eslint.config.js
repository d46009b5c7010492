// @ts-check
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', '.tap/**', 'docs/api/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        project: [
          './packages/*/tsconfig.json',
          './tsconfig.test.json',
          './examples/tsconfig.json',
          './bench/tsconfig.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Request paths: no object literal that starts with a spread and goes on (`{ ...a, b }`).
    // V8 (Node 20) builds such a literal through a slow path, over a microsecond per property
    // added after the spread, against tens of nanoseconds written member by member.
    files: [
      'packages/core/src/cache.ts',
      'packages/core/src/claims.ts',
      'packages/core/src/composite.ts',
      'packages/core/src/define-verifier.ts',
      'packages/core/src/safe-access-token.ts',
      'packages/core/src/stores/revocation-verifier.ts',
      'packages/http/src/forward-auth.ts',
      'packages/http/src/gate.ts',
      'packages/http/src/request.ts',
      'packages/http/src/dpop/dpop-proof-verifier.ts',
      'packages/express/src/middleware.ts',
      'packages/fastify/src/plugin.ts',
      'packages/hono/src/middleware.ts',
      'packages/introspection/src/introspection-verifier.ts',
      'packages/jwt/src/create-jwt-verifier.ts',
      'packages/jwt/src/lib/*.ts',
      'packages/provider/src/auth-info.ts',
    ],
    // Read once, when a verifier is built.
    ignores: ['packages/jwt/src/lib/resolve-options.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ObjectExpression > SpreadElement:first-child ~ *',
          message:
            'On a request path, build the object member by member (or with Object.assign): V8 takes a slow path for a literal that starts with a spread and goes on.',
        },
      ],
    },
  },
  {
    // tap's `t.test(...)` returns a promise tap itself tracks; async test bodies need no await.
    files: ['packages/*/test/**/*.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      // Subtest promises are tracked by tap; source files keep the rule.
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: globals.node,
    },
  },
)
