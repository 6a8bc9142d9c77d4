/**
 * Helpers of the Swarm provisioner's tests and bench: whether a swarm-mode engine is here, the
 * server image built once (build-server-image.sh: it skips the build when the tag already carries
 * the hash of its inputs), a folder of games readable by the containers' uid 65534, and the
 * removal of every service, secret and volume of a test prefix (run even when a test failed).
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Why the swarm tests cannot run here (`null` when a swarm-mode engine answers). */
export function swarmUnavailable(): string | null {
  try {
    const state = execFileSync('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
    return state === 'active' ? null : `the Docker engine is not in swarm mode (${state}): run docker swarm init --advertise-addr 127.0.0.1`;
  } catch {
    return 'no Docker engine here (docker info failed)';
  }
}

/** Builds (or finds, by its inputs' hash) the server image `tag`; resolves with the ms it took. */
export async function buildServerImage(tag = 'parlor-server:test'): Promise<number> {
  const t0 = Date.now();
  await run(join(root, 'packages/server/docker/build-server-image.sh'), [tag], { timeout: 120_000 });
  return Date.now() - t0;
}

/** A temp folder `<dir>/games/<name>` holding a copy of `source`, readable by every uid; returns `<dir>/games`. */
export function gamesFolder(name: string, source: string): { games: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'parlor-swarm-'));
  const games = join(dir, 'games');
  cpSync(source, join(games, name), { recursive: true });
  const open = (p: string): void => {
    const st = statSync(p);
    chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
    if (st.isDirectory()) for (const e of readdirSync(p)) open(join(p, e));
  };
  chmodSync(dir, 0o755);
  open(games);
  return { games, dir };
}

async function docker(args: string[]): Promise<string> {
  try {
    return (await run('docker', args, { timeout: 60_000 })).stdout.trim();
  } catch {
    return '';
  }
}

/** Removes every swarm service, secret and volume whose name starts with `prefix`, then `dir`. */
export async function removeSwarmObjects(prefix: string, dir?: string): Promise<void> {
  const names = async (kind: string): Promise<string[]> => (await docker([kind, 'ls', '--format', '{{.Name}}'])).split('\n').filter((n) => n.startsWith(prefix));
  const services = await names('service');
  if (services.length) await docker(['service', 'rm', ...services]);
  // a removed service's containers go away asynchronously; volumes in use are refused until then
  for (let i = 0; i < 60; i++) {
    const left = (await docker(['ps', '-a', '--filter', `label=com.docker.swarm.service.name`, '--format', '{{.Label "com.docker.swarm.service.name"}}'])).split('\n').filter((n) => n.startsWith(prefix));
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const secrets = (await docker(['secret', 'ls', '--format', '{{.Name}}'])).split('\n').filter((n) => n.startsWith(prefix));
  if (secrets.length) await docker(['secret', 'rm', ...secrets]);
  const volumes = (await docker(['volume', 'ls', '--format', '{{.Name}}'])).split('\n').filter((n) => n.startsWith(prefix));
  if (volumes.length) await docker(['volume', 'rm', '-f', ...volumes]);
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** The id of the running container of swarm service `name` ('' when none runs). */
export async function runningContainer(name: string): Promise<string> {
  return (await docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${name}`, '--filter', 'status=running'])).split('\n')[0] ?? '';
}

/** `docker kill -s KILL <container>`. */
export async function killContainer(id: string): Promise<void> {
  await run('docker', ['kill', '-s', 'KILL', id], { timeout: 30_000 });
}

/** Whether a Docker volume named `name` exists. */
export async function volumeExists(name: string): Promise<boolean> {
  return (await docker(['volume', 'ls', '-q', '--filter', `name=^${name}$`])) === name;
}

/** Creates a Docker volume with labels (`k=v`). */
export async function createVolume(name: string, labels: Record<string, string>): Promise<void> {
  await run('docker', ['volume', 'create', ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), name], { timeout: 30_000 });
}
