// Helpers of the provisioning tests: a free port, and the cleanup of provisioned processes.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

/** A port free on 127.0.0.1 now (the provisioned instances need the orchestrator's port before it listens). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * Kills (SIGKILL, whole process group) every instance of a ProcessProvisioner's folder `dir`: those
 * of its pid files, and any process whose command line names its key file (one a bug left untracked).
 */
export function killProvisioned(dir: string): void {
  const keyFile = join(dir, 'agent.key');
  for (const entry of existsSync('/proc/self/cmdline') ? readdirSync('/proc') : []) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(keyFile)) process.kill(-Number(entry), 'SIGKILL');
    } catch {
      // gone, or not a group leader
    }
  }
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names.filter((n) => n.endsWith('.pid'))) {
    try {
      process.kill(-Number(readFileSync(join(dir, name), 'utf8').trim()), 'SIGKILL');
    } catch {
      // gone
    }
  }
}
