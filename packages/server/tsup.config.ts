import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

const squishSource = fileURLToPath(new URL('../squish/src/index.ts', import.meta.url));

export default defineConfig([
  {
    // The public entry points: `@parlor/server`, `@parlor/server/runtimes`, `@parlor/server/gate`, `@parlor/server/catalog`, `@parlor/server/testing`
    // (package.json "exports"); code they share goes to common chunks.
    entry: { index: 'src/index.ts', runtimes: 'src/runtimes.ts', gate: 'src/gate.ts', catalog: 'src/catalog.ts', testing: 'src/testing.ts' },
    format: ['esm', 'cjs'],
    // The declaration bundle is one plain program (tsconfig.json is a composite project, for `tsc -b`);
    // `@parlor/*` imports stay external but are typed from their sources (tsconfig paths), so this
    // build never needs another package's dist and the packages build in any order.
    dts: { compilerOptions: { composite: false, rootDir: '../..' } },
    sourcemap: true,
    clean: false,
    target: 'node20',
    platform: 'node',
    // import.meta.url (client bundle lookup) in the CommonJS build
    shims: true,
  },
  {
    entry: { cli: 'src/cli/cli.ts' },
    // Loaded only in a terminal, when installed (a development dependency).
    external: ['pino-pretty'],
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'node20',
    platform: 'node',
  },
  {
    // The sandboxed room process: one self-contained ESM file (squish and msgpackr inlined) so
    // Node's permission model only needs to grant read access to this file and the game folder.
    entry: { 'process-runner': 'src/runner/process-runner.ts' },
    format: ['esm'],
    outExtension: () => ({ js: '.mjs' }),
    dts: false,
    sourcemap: false,
    clean: false,
    target: 'node20',
    platform: 'node',
    noExternal: [/.*/],
    external: ['msgpackr-extract'],
    // squish from its source, so this build does not depend on squish's dist
    esbuildOptions(options) {
      options.alias = { ...options.alias, '@parlor/squish': squishSource };
    },
  },
]);
