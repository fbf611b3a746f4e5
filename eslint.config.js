import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  { files: ['src/cli/**', 'bench/**', 'scripts/**', 'test/**', 'examples/**'], rules: { 'no-console': 'off' } },
  {
    // Type-aware rules: a promise nobody awaits, or one handed to what expects a plain callback, is a bug here.
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  // The layers' arrows (ARCHITECTURE.md): a wrong import fails lint. Tests may reach across (a core test may use a memory store).
  ...layerRules({
    'src/core/**/*.ts': {
      layers: ['storage', 'http', 'cli', 'embed', 'verifier', 'server', 'mail'],
      packages: ['fastify', '@fastify/*', 'kysely', 'pg', 'better-sqlite3', 'ioredis'],
    },
    'src/storage/**/*.ts': { layers: ['http', 'cli', 'embed', 'verifier', 'server', 'mail'], packages: ['fastify', '@fastify/*'] },
    'src/http/**/*.ts': {
      layers: ['storage', 'cli', 'embed', 'verifier', 'server', 'mail'],
      packages: ['kysely', 'pg', 'better-sqlite3', 'ioredis'],
    },
    // The composition root: core, storage and http wired into the server, the cluster and what the library opens.
    'src/server/**/*.ts': { layers: ['cli', 'embed', 'verifier'], packages: [] },
    'src/embed/**/*.ts': { layers: ['cli', 'storage', 'mail'], packages: ['kysely', 'pg', 'better-sqlite3', 'ioredis'] },
    // The command line parses and prints; what it runs is the server's (and core's types, errors and pure helpers).
    'src/cli/**/*.ts': {
      layers: ['storage', 'http', 'embed', 'verifier', 'mail'],
      packages: ['fastify', '@fastify/*', 'kysely', 'pg', 'better-sqlite3', 'ioredis'],
    },
    'src/verifier/**/*.ts': { layers: ['core', 'storage', 'http', 'cli', 'embed', 'server', 'mail'], packages: [] },
    // The mail transports (SMTP, webhook, the log) and the mail layer's settings: core only (ADR 0022).
    'src/mail/**/*.ts': {
      layers: ['storage', 'http', 'cli', 'embed', 'verifier', 'server'],
      packages: ['fastify', '@fastify/*', 'kysely', 'pg', 'better-sqlite3', 'ioredis'],
    },
    // The library surface (src/index.ts) exports from server and embed, never from the command line.
    'src/*.ts': { label: 'src/index.ts', layers: ['cli'], packages: [] },
  }),
  // Formatting is prettier's (npm run format; npm run lint checks it): no lint rule may disagree with it.
  prettier,
);

/** One no-restricted-imports block per layer: the layers (folders of src/) and packages its source files may not import. */
function layerRules(rules) {
  return Object.entries(rules).map(([files, { label = files.split('/')[1], layers, packages }]) => ({
    files: [files],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...layers.map((layer) => ({
              group: [`**/${layer}/**`, `../${layer}/*`],
              message: `${label} must not import ${layer} (ARCHITECTURE.md)`,
            })),
            ...(packages.length ? [{ group: packages, message: `${label} must not depend on this package (ARCHITECTURE.md)` }] : []),
          ],
        },
      ],
    },
  }));
}
