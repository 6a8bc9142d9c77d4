import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: false,
    target: 'node20',
    platform: 'node',
    // import.meta.url (client bundle lookup) in the CommonJS build
    shims: true,
  },
  {
    entry: ['src/cli.ts'],
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'node20',
    platform: 'node',
  },
  {
    // The sandboxed session process: one self-contained ESM file (squish and msgpackr inlined) so
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
  },
]);
