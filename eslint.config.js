import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'coverage/**', '**/vendor/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['warn', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'warn',
      'no-console': 'off',
    },
  },
  {
    // The test layout (README § Tests): nothing in a package's or service's src/ imports test code…
    files: ['packages/*/src/**/*.ts', 'services/*/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)test/', message: 'src/ never imports test code: helpers and fixtures live in test/.' },
          ],
        },
      ],
    },
  },
  {
    // …and a unit test beside the source does no I/O: a test that needs a server, a process, PostgreSQL
    // or Redis is an integration test, test/**/*.int.test.ts.
    files: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['@pksync/testing', 'node:child_process', 'node:http', 'node:net', 'pg', 'ioredis', 'bullmq'].map(
            (name) => ({ name, allowTypeImports: true, message: 'I/O in a unit test: make it a test/*.int.test.ts.' }),
          ),
        },
      ],
    },
  },
  {
    // Migrations are frozen in time and typed against no schema (Kysely<any>, as its docs advise).
    files: ['packages/db/src/migrations/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
