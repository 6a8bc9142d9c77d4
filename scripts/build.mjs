/** `npm run build`: every workspace's build (their output as it comes), then the build stamp. */
import { spawnSync } from 'node:child_process';
import { markBuilt, root } from './build-state.mjs';

const started = Date.now();
const r = spawnSync('npm', ['run', 'build', '--workspaces', '--if-present'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
markBuilt(started);
