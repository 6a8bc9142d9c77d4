/**
 * The preStop hook of the generated game server Deployment, run for real: no kubelet here, so
 * Docker plays its part. A container of the server image (build-server-image.sh, the image the
 * manifests name) runs the manifests' `parlor serve` args (fleet flags aside) as PID 1; a real
 * player keeps a room busy; then the hook's exact command runs in the container with `docker exec`,
 * as the kubelet's exec hook would. Asserted: the server drains (`/readyz` 503), the hook does not
 * return while the room is busy (so the kubelet's own SIGTERM, sent after the hook, never arrives
 * as the second signal that ends rooms at once), and once the player leaves the server exits 0
 * ("drained: every room is empty") and the hook returns. What a kubelet adds (the grace period's
 * SIGKILL, endpoint removal) is not exercised. Skipped without a Docker engine (not under CI=true).
 * The container (name prefix ktest-) is removed in afterAll, failed or not.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WS_PATH } from '@parlor/squish';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubernetesManifestObjects } from '../src/provisioning/kubernetes-manifests.js';
import { waitFor } from './helpers.js';
import { Player } from './player.js';
import { buildServerImage, gamesFolder } from './swarm-helpers.js';

const run = promisify(execFile);
const IMAGE = 'parlor-server:test';
const name = `ktest-${randomBytes(3).toString('hex')}`;

function dockerMissing(): string | null {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 10_000 });
    return null;
  } catch {
    return 'no Docker engine here (docker info failed)';
  }
}
const missing = dockerMissing();
if (missing && process.env.CI === 'true') throw new Error(`kubernetes-prestop.test.ts needs a Docker engine under CI: ${missing}`);

type Obj = any;
const server = (kubernetesManifestObjects() as Obj[]).find((d) => d.kind === 'Deployment' && d.metadata.name === 'parlor-server').spec.template.spec.containers[0];
/** The manifests' serve args without the fleet (no orchestrator here) and the pod-only values. */
function serveArgs(): string[] {
  const args: string[] = [...server.args];
  for (const flag of ['--fleet-url', '--fleet-key-file', '--endpoint-url', '--name']) args.splice(args.indexOf(flag), 2);
  for (let i = args.indexOf('--label'); i >= 0; i = args.indexOf('--label')) args.splice(i, 2);
  const drain = args.indexOf('--drain-timeout');
  args[drain + 1] = '60000';
  return [...args, '--games', '/games'];
}

const { games, dir } = gamesFolder('adder', fileURLToPath(new URL('./fixtures/lifecycle-game', import.meta.url)));
let base = '';
let hook: ChildProcess | undefined;
const players: Player[] = [];

beforeAll(async () => {
  if (missing) return;
  await buildServerImage(IMAGE);
  await run('docker', ['run', '-d', '--name', name, '-p', '127.0.0.1::8080', '-v', `${games}:/games:ro`, IMAGE, ...serveArgs()], { timeout: 60_000 });
  const port = (await run('docker', ['port', name, '8080/tcp'])).stdout.trim().split('\n')[0]!.split(':').pop();
  base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 200, 'the server in the container ready', 30_000);
}, 180_000);

afterAll(async () => {
  for (const p of players) p.close();
  hook?.kill();
  if (!missing) await run('docker', ['rm', '-f', name]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(missing !== null)('the preStop drain hook of the manifests, in the server image', () => {
  it('drains, holds the hook while a room is busy, then the server exits 0 and the hook returns', async () => {
    const ann = await Player.join(`${base.replace('http:', 'ws:')}${WS_PATH}`, 'adder', 'prestop-room');
    players.push(ann);
    hook = spawn('docker', ['exec', name, ...server.lifecycle.preStop.exec.command], { stdio: 'ignore' });
    let hookDone: number | null | undefined;
    hook.on('close', (code) => (hookDone = code));
    await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 503, 'the server draining (/readyz 503)', 15_000);
    // The room is busy: the server still runs, so the hook cannot have returned.
    expect((await run('docker', ['inspect', '-f', '{{.State.Running}}', name])).stdout.trim()).toBe('true');
    expect(hookDone).toBeUndefined();
    expect(ann.closeInfo).toBeNull(); // the player still plays
    ann.close();
    const exit = (await run('docker', ['wait', name], { timeout: 60_000 })).stdout.trim();
    expect(exit).toBe('0');
    await waitFor(() => hookDone !== undefined, 'the preStop hook returned', 15_000);
    const logs = await run('docker', ['logs', name]);
    expect(logs.stdout + logs.stderr).toContain('drained: every room is empty');
  });
});
