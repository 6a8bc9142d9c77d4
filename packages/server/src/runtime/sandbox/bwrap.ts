import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The OS sandbox of the `process` runtime: bubblewrap (`bwrap`) started through `setpriv` as an
 * unprivileged uid, so each room's process has its own user, pid, network (loopback only),
 * mount, IPC, UTS and cgroup namespaces, no capabilities, an empty environment and a read-only
 * root holding only the node binary, the shared libraries it links and the runner.
 */

/** Host uid/gid the sandbox runs as (and sees itself as): `nobody`. */
export const SANDBOX_UID = 65534;
/** Where the runner is mounted inside the sandbox (read-only, a private copy). */
export const SANDBOX_RUNNER_PATH = '/parlor/process-runner.mjs';
/** The child fd through which the runner's bytes reach `bwrap --ro-bind-data`. */
export const RUNNER_FD = 3;

/** Finds an executable on PATH (or the usual system directories). */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * The files the node binary needs to start: itself and every shared library `ldd` lists (with
 * the dynamic loader), as `[host file (symlinks resolved), path inside the sandbox]`.
 * @throws {Error} when `ldd` reports a library as not found.
 */
export function nodeFiles(nodePath: string): Array<[string, string]> {
  const files: Array<[string, string]> = [[realpathSync(nodePath), nodePath]];
  const r = spawnSync('ldd', [nodePath], { encoding: 'utf8', timeout: 10_000, env: { PATH: '/usr/bin:/bin' } });
  if (r.status !== 0) {
    // a statically linked node ("not a dynamic executable") needs nothing else
    if (/not a dynamic executable|statically linked/.test(`${r.stdout}${r.stderr}`)) return files;
    throw new Error(`ldd ${nodePath} failed: ${(r.stderr || r.error?.message || '').trim()}`);
  }
  for (const line of r.stdout.split('\n')) {
    if (/not found/.test(line)) throw new Error(`ldd ${nodePath}: ${line.trim()}`);
    const m = /(\/[^\s]+)\s+\(0x/.exec(line);
    if (m && existsSync(m[1])) files.push([realpathSync(m[1]), m[1]]);
  }
  return files;
}

/** What {@link bwrapCommand} needs. */
export interface BwrapConfig {
  bwrap: string;
  /** `setpriv` (util-linux): drops to {@link SANDBOX_UID} before `bwrap` when the host is root; `undefined` runs bwrap as the current user. */
  setpriv: string | undefined;
  nodePath: string;
  /** `[host file, sandbox path]` pairs from {@link nodeFiles}. */
  files: Array<[string, string]>;
  /** node's own arguments (permission flags, heap caps, the runner's sandbox path). */
  nodeArgs: string[];
  /** Forbid nested user namespaces in the sandbox (`--disable-userns`, bubblewrap ≥ 0.8). */
  disableUserns?: boolean;
}

/** Whether this bubblewrap knows `--disable-userns` (0.8+). */
export function bwrapCanDisableUserns(bwrap: string): boolean {
  const r = spawnSync(bwrap, ['--help'], { encoding: 'utf8', timeout: 10_000, env: {} });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.includes('--disable-userns');
}

/**
 * The command line of one sandboxed room process. The runner's bytes are read from fd
 * {@link RUNNER_FD} of the child (`--ro-bind-data`), so the sandbox gets a private read-only copy
 * and no host path of the runner has to be reachable by the sandbox uid.
 */
export function bwrapCommand(cfg: BwrapConfig): { command: string; args: string[] } {
  const bw: string[] = [
    '--unshare-all', // user, pid, net (loopback only), ipc, uts, cgroup
    // no nested user namespaces (less kernel surface); bwrap refuses to start if that did not hold
    ...(cfg.disableUserns ? ['--unshare-user', '--disable-userns', '--assert-userns-disabled'] : []),
    '--uid', String(SANDBOX_UID),
    '--gid', String(SANDBOX_UID),
    '--die-with-parent',
    '--new-session',
    '--cap-drop', 'ALL',
    '--clearenv',
    '--hostname', 'parlor',
  ];
  for (const [src, dest] of cfg.files) bw.push('--ro-bind', src, dest);
  bw.push(
    '--perms', '0444', '--ro-bind-data', String(RUNNER_FD), SANDBOX_RUNNER_PATH,
    '--proc', '/proc',
    '--dev', '/dev',
    '--remount-ro', '/dev',
    '--remount-ro', '/',
    '--chdir', '/parlor',
    cfg.nodePath,
    ...cfg.nodeArgs,
  );
  if (!cfg.setpriv) return { command: cfg.bwrap, args: bw };
  return {
    command: cfg.setpriv,
    args: [
      `--reuid=${SANDBOX_UID}`,
      `--regid=${SANDBOX_UID}`,
      '--clear-groups',
      '--no-new-privs',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--',
      cfg.bwrap,
      ...bw,
    ],
  };
}

/**
 * Wraps a command so that it enters the given cgroups before it runs (race-free: the shell writes
 * its own pid to each `cgroup.procs`, then `exec`s the command, so every process the sandbox ever
 * has is born inside the cgroup).
 */
export function inCgroupCommand(procsFiles: string[], cmd: { command: string; args: string[] }): { command: string; args: string[] } {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = `${procsFiles.map((f) => `echo $$ > ${q(f)} || exit 125`).join('; ')}; exec "$@"`;
  return { command: '/bin/sh', args: ['-c', script, 'parlor-room', cmd.command, ...cmd.args] };
}
