// @ts-check
// ESLint as CDK construct libraries set it up: typescript-eslint's recommended
// rules plus the type-aware rules that catch forgotten promises, with
// eslint-config-prettier turning off every rule that Prettier (.prettierrc)
// decides. `npm run lint` runs both; `npm run format` fixes what it can.
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // Build outputs: jsii writes .js and .d.ts next to each .ts; esbuild writes assets/.
    ignores: [
      'node_modules/',
      '.venv/',
      'dist/',
      'assets/',
      'cdk.out/',
      'coverage/',
      '**/*.d.ts',
      'lib/**/*.js',
      'example/**/*.js',
      'lambda/**/*.js',
      'test/support/**/*.js',
      'local/**/*.js',
      'test/integ/*.js',
      'test/integ/*.snapshot/',
      // npm run test:languages: pip, Maven and Go caches, the venv, the cloud assemblies.
      '.cache/',
    ],
  },
  eslint.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `_name` marks a value that is deliberately unused (a destructured field left out, say).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      // tsconfig.dev.json covers every .ts file: lib, lambda, example, test, bench.
      parserOptions: { project: './tsconfig.dev.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits is an unhandled rejection in the Lambda or a test that ends too early.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      'no-duplicate-imports': 'error',
      'no-shadow': 'off',
      '@typescript-eslint/no-shadow': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // Plain JavaScript for Node.js: the build script, the jest config, the benchmarks, a test helper.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  prettier,
);
