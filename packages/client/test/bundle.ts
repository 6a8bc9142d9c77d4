import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The browser tests' view of the client's page bundle (`dist/parlor-client.global.js`). */

const clientDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(clientDir, '..', '..');
/** Absolute path of the page bundle the server serves at `/parlor/client.js`. */
export const bundlePath = join(clientDir, 'dist', 'parlor-client.global.js');

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Rebuilds the page bundle with the package's own tsup config when it is missing or older than its sources. */
export function ensureFreshBundle(): void {
  const src = Math.max(newestMtime(join(clientDir, 'src')), newestMtime(join(repo, 'packages', 'squish', 'src')));
  if (existsSync(bundlePath) && statSync(bundlePath).mtimeMs >= src) return;
  execFileSync(join(repo, 'node_modules', '.bin', 'tsup'), [], { cwd: clientDir, env: { ...process.env, PARLOR_CLIENT_BUNDLE_ONLY: '1' }, stdio: 'pipe' });
}
