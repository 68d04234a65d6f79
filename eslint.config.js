// ESLint flat config: typescript-eslint's type-checked rules over every TypeScript file
// (src/, test/, bench/, scripts/), the plain recommended rules over the JavaScript ones.
// Formatting is Prettier's business (.prettierrc), so no stylistic rules here.
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: [
      'dist/',
      'console/src/api/schema.d.ts',
      'coverage/',
      'bench/node_modules/',
      'bench/data/',
      'bench/results/',
    ],
  },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A leading underscore marks a parameter or binding that is unused on purpose
      // (a Fastify hook's `reply`, a tuple element skipped in destructuring).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
      // node:test's describe() and it() return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'suite', 'test'] },
          ],
        },
      ],
      // Fastify plugins and hooks are async by contract (the returned promise is how Fastify
      // knows they are done), so one that awaits nothing is correct, not a leftover.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The console runs in the browser (console/tsconfig.json types it with the DOM library).
    files: ['console/src/**/*.{ts,tsx}'],
    languageOptions: { globals: globals.browser },
  },
  {
    // Kysely's migrations are written against Kysely<any>: a migration must keep working
    // after the table types in src/db/ have moved on (Kysely's own advice).
    files: ['src/db/migrations/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Tests read answers with light-my-request's res.json(), typed `any`, and check the
    // values with assertions at run time; typing each body first would add nothing.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Hostile-input tests match control characters on purpose (NUL, C0 in names and headers).
      'no-control-regex': 'off',
    },
  },
  {
    // Plain JavaScript (bin/, the bench's .mjs helpers, scripts/, config files) is not in
    // the TypeScript project, so it gets the untyped rules only.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
