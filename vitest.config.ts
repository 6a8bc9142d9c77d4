import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (pkg: string, entry = 'index') => fileURLToPath(new URL(`./packages/${pkg}/src/${entry}.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@parlor/squish': src('squish'),
      '@parlor/client': src('client'),
      // subpath entries before their package (an alias matches its key and anything under it)
      '@parlor/server/testing': src('server', 'testing'),
      '@parlor/server/gate': src('server', 'gate'),
      '@parlor/server/catalog': src('server', 'catalog'),
      '@parlor/server': src('server'),
      '@parlor/fleet-agent': src('fleet-agent'),
      '@parlor/orchestrator': src('orchestrator'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
