/**
 * `npm start`: builds only when the sources changed since the last build (quietly: the build's
 * output is shown only if it fails), then runs the fleet demo (examples/matchmaker/fleet-demo.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { buildNeeded, markBuilt, root } from './build-state.mjs';

const why = buildNeeded();
if (why) {
  process.stdout.write(`Parlor: building (${why}; about 30 s the first time)… `);
  const started = Date.now();
  const r = spawnSync('npm', ['run', 'build', '--workspaces', '--if-present'], { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) {
    process.stdout.write('failed:\n');
    process.stderr.write(`${r.stdout}\n${r.stderr}\n`);
    process.exit(r.status ?? 1);
  }
  markBuilt(started);
  process.stdout.write(`done in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
} else {
  process.stdout.write('Parlor: build up to date\n');
}

const demo = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'examples', 'matchmaker', 'fleet-demo.ts')], { cwd: root, stdio: 'inherit' });
// Ctrl-C reaches the demo too (same process group): wait for it to stop its servers.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => demo.kill('SIGTERM'));
demo.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
