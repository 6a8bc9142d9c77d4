import { fileURLToPath } from 'node:url';
import { defineConfig, type Options } from 'tsup';

const squishSource = fileURLToPath(new URL('../squish/src/index.ts', import.meta.url));

/** (a) the library: ESM + CJS + .d.ts, `@parlor/squish` external. */
const library: Options = {
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  // The declaration bundle is one plain program (tsconfig.json is a composite project, for `tsc -b`);
  // `@parlor/*` imports stay external but are typed from their sources (tsconfig paths), so this
  // build never needs another package's dist and the packages build in any order.
  dts: { compilerOptions: { composite: false, rootDir: '../..' } },
  sourcemap: true,
  clean: false,
  target: 'es2022',
  platform: 'browser',
  external: ['@parlor/squish'],
};

/**
 * (b) the page bundle `dist/parlor-client.global.js`: one minified IIFE exposing `Parlor`
 * (`Parlor.start(...)`), with squish bundled from its *source* so it never depends on
 * squish's dist.
 */
const bundle: Options = {
  entry: { 'parlor-client': 'src/index.ts' },
  format: ['iife'],
  globalName: 'Parlor',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  sourcemap: true,
  dts: false,
  clean: false,
  noExternal: ['@parlor/squish'],
  esbuildOptions(options) {
    options.alias = { ...options.alias, '@parlor/squish': squishSource };
  },
};

// PARLOR_CLIENT_BUNDLE_ONLY=1 builds just the page bundle (used by the e2e test when it is stale).
export default defineConfig(process.env.PARLOR_CLIENT_BUNDLE_ONLY === '1' ? [bundle] : [library, bundle]);
