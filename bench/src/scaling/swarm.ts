/**
 * The scaling bench's Docker parts: the server image built from this checkout (no registry), a
 * folder of games the containers (uid 65534) can read, the removal of every service, secret and
 * volume of a bench prefix, and whether a swarm-mode engine is here.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Throws with the fix when no swarm-mode engine answers. */
export function requireSwarm(): void {
  let state = '';
  try {
    state = execFileSync('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    throw new Error('bench:scaling needs a Docker engine (docker info failed): start dockerd');
  }
  if (state !== 'active') throw new Error(`bench:scaling needs swarm mode (the engine says ${state}): run docker swarm init --advertise-addr 127.0.0.1`);
}

/** Builds (or finds by its inputs' hash) the server image; resolves with the ms it took. */
export async function buildImage(root: string, tag: string): Promise<number> {
  const t0 = Date.now();
  await run(join(root, 'packages/server/docker/build-server-image.sh'), [tag], { timeout: 300_000 });
  return Date.now() - t0;
}

/** A temp folder `<dir>/games/<name>` copied from `source`, readable by every uid. */
export function gamesFolder(name: string, source: string): { games: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'parlor-scaling-'));
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

/** Removes every swarm service, secret and volume whose name starts with `prefix`. */
export async function removeSwarmObjects(prefix: string): Promise<void> {
  const named = async (kind: string): Promise<string[]> => (await docker([kind, 'ls', '--format', '{{.Name}}'])).split('\n').filter((n) => n.startsWith(prefix));
  const services = await named('service');
  if (services.length) await docker(['service', 'rm', ...services]);
  for (let i = 0; i < 120; i++) {
    const left = (await docker(['ps', '-a', '--format', '{{.Label "com.docker.swarm.service.name"}}'])).split('\n').filter((n) => n.startsWith(prefix));
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const secrets = await named('secret');
  if (secrets.length) await docker(['secret', 'rm', ...secrets]);
  const volumes = await named('volume');
  if (volumes.length) await docker(['volume', 'rm', '-f', ...volumes]);
}

/** Removes `dir`. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
