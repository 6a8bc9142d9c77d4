import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // `client` is the `@parlor/orchestrator/client` subpath: FleetClient without the server code.
    entry: ['src/index.ts', 'src/client.ts'],
    format: ['esm', 'cjs'],
    dts: { compilerOptions: { composite: false, rootDir: '../..' } }, // tsconfig.json is composite (tsc -b); siblings typed from source
    sourcemap: true,
    clean: false,
    target: 'node20',
    platform: 'node',
  },
  {
    entry: ['src/cli.ts', 'src/catalog-cli.ts'],
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'node20',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
    // Loaded only in a terminal, when installed (a development dependency).
    external: ['pino-pretty'],
  },
]);
