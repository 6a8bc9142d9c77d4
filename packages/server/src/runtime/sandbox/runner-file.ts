/**
 * Where the sandboxed room process's script (`process-runner.mjs`) is: next to the built package,
 * or bundled from source once. Shared by the process and docker runtimes and the publish gate.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { RuntimeError, ServerErrorCode } from '../../errors.js';

/** Path of the process runner script (built from source once when running from source). */
export function processRunnerPath(): string {
  return locateRunner();
}

let runnerCache: string | null = null;
/**
 * Finds the runner script: `process-runner.mjs` next to this module (the built package), else
 * bundles `src/runner/process-runner.ts` with esbuild once into a content-addressed folder under
 * the OS temp dir (running from source, e.g. in tests).
 */
function locateRunner(): string {
  if (runnerCache && existsSync(runnerCache)) return runnerCache;
  const here = dirname(fileURLToPath(import.meta.url)); // dist/ when built (one bundle), src/runtime/sandbox/ from source
  for (const c of [join(here, 'process-runner.mjs'), join(here, '..', 'process-runner.mjs')]) {
    if (existsSync(c)) return (runnerCache = c);
  }
  const src = join(here, '..', '..', 'runner', 'process-runner.ts');
  if (!existsSync(src)) {
    throw new RuntimeError(ServerErrorCode.RUNTIME_UNAVAILABLE, 'process', `process runner not found next to ${here} (build @parlor/server)`);
  }
  const squishSrc = join(here, '..', '..', '..', '..', 'squish', 'src', 'index.ts');
  const result = buildSync({
    entryPoints: [src],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    alias: existsSync(squishSrc) ? { '@parlor/squish': squishSrc } : {},
    external: ['msgpackr-extract'],
  });
  const text = result.outputFiles![0].contents;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `parlor-runner-${hash}`);
  const file = join(dir, 'process-runner.mjs');
  if (!existsSync(file) || !readFileSync(file).equals(Buffer.from(text))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${file}.${process.pid}.tmp`, text);
    renameSync(`${file}.${process.pid}.tmp`, file); // atomic publish
  }
  return (runnerCache = file);
}
