/**
 * The build of `@parlor/server` before issue 7 (untrusted games), so the runtime benchmark can
 * measure it side by side with this tree in one run: the revision's files are exported with
 * `git archive` into a folder under the OS temp dir, linked to this tree's `node_modules` (its own
 * `@parlor/*` packages excepted), and its squish and server packages built with their own build
 * scripts. Its runner image is built with its own `build-runner-image.sh`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The last commit before issue 7's changes (the hardened runtimes, limits, checks). */
export const BEFORE_REV = process.env.BEFORE_REV ?? '62a35c0';

/**
 * Exports and builds `rev` (once per revision; later runs reuse the folder).
 * @returns the absolute paths of its `@parlor/server` entry, its `@parlor/squish` entry (its wire
 *   protocol) and its process runner.
 */
export function beforeServerModule(repo: string, rev = BEFORE_REV): { module: string; squish: string; runner: string; dir: string } {
  const dir = path.join(tmpdir(), `parlor-bench-before-${rev}`);
  const module = path.join(dir, 'packages', 'server', 'dist', 'index.js');
  const squish = path.join(dir, 'packages', 'squish', 'dist', 'index.js');
  const runner = path.join(dir, 'packages', 'server', 'dist', 'process-runner.mjs');
  if (existsSync(module) && existsSync(runner)) return { module, squish, runner, dir };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tar = execFileSync('git', ['-C', repo, 'archive', '--format=tar', rev], { maxBuffer: 512 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  const nm = path.join(dir, 'node_modules');
  mkdirSync(path.join(nm, '@parlor'), { recursive: true });
  for (const entry of readdirSync(path.join(repo, 'node_modules'))) {
    if (entry === '@parlor') continue;
    symlinkSync(path.join(repo, 'node_modules', entry), path.join(nm, entry));
  }
  for (const pkg of readdirSync(path.join(dir, 'packages'))) symlinkSync(path.join(dir, 'packages', pkg), path.join(nm, '@parlor', pkg));
  for (const pkg of ['squish', 'server']) {
    const r = spawnSync('npm', ['run', 'build'], { cwd: path.join(dir, 'packages', pkg), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) throw new Error(`building ${pkg} at ${rev} failed:\n${r.stdout}\n${r.stderr}`);
  }
  return { module, squish, runner, dir };
}
