#!/usr/bin/env node
// The `parlor-catalog` command. This launcher is committed so that `npm install` links the bin on a fresh
// clone, before anything is built; the command itself is the build output (dist/catalog-cli.js).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/catalog-cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('parlor-catalog: @parlor/orchestrator is not built yet (no dist/catalog-cli.js). Run `npm run build` (or `npm start`) at the repository root first.');
  process.exit(1);
}
await import(cli.href);
