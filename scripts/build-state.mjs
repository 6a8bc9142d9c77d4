/**
 * Whether the packages' build output is up to date with their sources, by a stamp written after
 * each successful `npm run build` (`.parlor/build-stamp`, its time = when that build started, so
 * an edit made during a build counts as newer). Used by `npm start` to skip a build nobody needs.
 * The root files are also compared by content (their hashes are in the stamp): `npm install`
 * rewrites package-lock.json with a new time and the same bytes, which needs no build.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, '.parlor', 'build-stamp');
const PACKAGES = ['squish', 'client', 'fleet-agent', 'server', 'orchestrator'];
/** What a package's build reads: everything in its folder but tests, output and dependencies. */
const SKIP = new Set(['node_modules', 'dist', 'test']);
const ROOT_FILES = ['package.json', 'package-lock.json', 'tsconfig.base.json', 'tsconfig.packages.json'];

/** Newest modification time (ms) under `p`, a file or a folder. */
function newest(p) {
  let st;
  try {
    st = statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let m = 0; // files only: a build recreates dist/, which touches the package folder itself
  for (const e of readdirSync(p)) if (!SKIP.has(e)) m = Math.max(m, newest(path.join(p, e)));
  return m;
}

/** `null` when up to date, else why a build is needed (for the one line `npm start` prints). */
export function buildNeeded() {
  if (!existsSync(stamp)) return 'first build';
  const built = statSync(stamp).mtimeMs;
  for (const pkg of PACKAGES) {
    const dir = path.join(root, 'packages', pkg);
    if (!existsSync(path.join(dir, 'dist', 'index.js'))) return `${pkg} is not built`;
    if (newest(dir) > built) return `${pkg} changed`;
  }
  let hashes = {};
  try {
    hashes = JSON.parse(readFileSync(stamp, 'utf8')).roots ?? {};
  } catch {
    // a stamp from before the hashes: times alone decide
  }
  for (const f of ROOT_FILES) if (newest(path.join(root, f)) > built && hashOf(f) !== hashes[f]) return `${f} changed`;
  return null;
}

/** sha256 of a root file's bytes (`''` when it does not exist). */
function hashOf(f) {
  try {
    return createHash('sha256').update(readFileSync(path.join(root, f))).digest('hex');
  } catch {
    return '';
  }
}

/** Records a successful build that started at `startedMs`. */
export function markBuilt(startedMs) {
  mkdirSync(path.dirname(stamp), { recursive: true });
  const roots = Object.fromEntries(ROOT_FILES.map((f) => [f, hashOf(f)]));
  writeFileSync(stamp, `${JSON.stringify({ startedAt: new Date(startedMs).toISOString(), roots })}\n`);
  const t = new Date(startedMs);
  utimesSync(stamp, t, t);
}
