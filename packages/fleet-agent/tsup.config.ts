import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  // The declaration bundle is one plain program (tsconfig.json is a composite project, for `tsc -b`);
  // `@parlor/*` imports stay external but are typed from their sources (tsconfig paths), so this
  // build never needs another package's dist and the packages build in any order.
  dts: { compilerOptions: { composite: false, rootDir: '../..' } },
  sourcemap: true,
  clean: false,
  target: 'node20',
  platform: 'node',
});
