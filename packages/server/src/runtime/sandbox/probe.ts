/**
 * What the `process` runtime's OS sandbox can use on this machine: Node's permission model,
 * bubblewrap (+ setpriv) and cgroup v1, each probed once and cached. The runtime itself is `../process.ts`.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { SANDBOX_UID, bwrapCanDisableUserns, bwrapCommand, findExecutable, nodeFiles } from './bwrap.js';
import { probeCgroups } from './cgroup.js';

let permissionProbe: boolean | null = null;
/** Whether `node` supports the permission model (`--experimental-permission`, Node ≥ 20). Cached. */
export function processRuntimeAvailable(nodePath = process.execPath): boolean {
  if (permissionProbe === null) {
    const r = spawnSync(nodePath, ['--experimental-permission', '--no-warnings', '-e', 'process.exit(process.permission && !process.permission.has("fs.write") ? 0 : 3)'], {
      env: {},
      timeout: 10_000,
    });
    permissionProbe = r.status === 0;
  }
  return permissionProbe;
}

/** How bubblewrap is started (see `sandbox/bwrap.ts`). */
export interface SandboxProbe {
  bwrap: string;
  setpriv: string | undefined;
  files: Array<[string, string]>;
  disableUserns: boolean;
}

/** Result of {@link probeProcessSandbox}. */
export interface ProcessSandboxStatus {
  /** What the OS sandbox of the `process` runtime lacks on this machine, in words, with how to get it (empty: fully isolated). */
  missing: string[];
}

export interface SandboxStatus extends ProcessSandboxStatus {
  sandbox: SandboxProbe | null;
  cgroups: Extract<ReturnType<typeof probeCgroups>, { ok: true }>['hierarchies'] | null;
}

/**
 * Checks, once per node binary, that the `process` runtime's OS sandbox works here: bubblewrap and
 * setpriv are installed, a sandbox starts (unprivileged user namespace, uid 65534, loopback-only
 * network) and runs `node`, and cgroups can be created in the v1 memory, pids, cpu and cpuacct
 * hierarchies (as root). Cached. `new ProcessRuntime()` throws `SERVER_RUNTIME_UNAVAILABLE` with these
 * words when anything is missing (unless `unsafeWeakSandbox`).
 */
export function probeProcessSandbox(nodePath = process.execPath, bwrapPath?: string): ProcessSandboxStatus {
  return { missing: [...sandboxStatus(nodePath, bwrapPath).missing] };
}

const sandboxProbes = new Map<string, SandboxStatus>();
export function sandboxStatus(nodePath: string, bwrapPath: string | undefined): SandboxStatus {
  const key = `${nodePath}\0${bwrapPath ?? ''}`;
  const cached = sandboxProbes.get(key);
  if (cached) return cached;
  const missing: string[] = [];
  let sandbox: SandboxProbe | null = null;
  if (process.platform !== 'linux') {
    missing.push('Linux namespaces (this is not Linux)');
  } else {
    const bwrap = bwrapPath === undefined ? findExecutable('bwrap') : existsSync(bwrapPath) ? bwrapPath : undefined;
    const root = process.getuid?.() === 0;
    const setpriv = root ? findExecutable('setpriv') : undefined;
    if (!bwrap) missing.push('bubblewrap (`bwrap` not found: apt-get install bubblewrap)');
    else if (root && !setpriv) missing.push('setpriv (util-linux, to start the sandbox as uid 65534)');
    else {
      let files: Array<[string, string]> | null = null;
      try {
        files = nodeFiles(nodePath);
      } catch (err) {
        missing.push(`the shared libraries of ${nodePath} (${(err as Error).message})`);
      }
      if (files) {
        const probe = `const n=Object.keys(require('os').networkInterfaces());process.exit(process.getuid()===${SANDBOX_UID}&&n.length===1&&n[0]==='lo'?0:3)`;
        const disableUserns = bwrapCanDisableUserns(bwrap!);
        const cmd = bwrapCommand({ bwrap: bwrap!, setpriv, nodePath, files, disableUserns, nodeArgs: ['-e', probe] });
        let fd: number | undefined;
        try {
          fd = openSync('/dev/null', 'r');
          const r = spawnSync(cmd.command, cmd.args, { stdio: ['ignore', 'pipe', 'pipe', fd], env: {}, cwd: '/', timeout: 15_000, encoding: 'utf8' });
          if (r.status === 0) sandbox = { bwrap: bwrap!, setpriv, files, disableUserns };
          else {
            const err = `${r.stderr ?? ''}`.trim().split('\n').slice(-2).join(' ') || r.error?.message || `exit ${String(r.status ?? r.signal)}`;
            missing.push(
              `a working bubblewrap sandbox (${err}; needs unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0${root ? '' : '; run the server as root'}, and ${nodePath} with its libraries readable by uid ${SANDBOX_UID})`,
            );
          }
        } finally {
          if (fd !== undefined) closeSync(fd);
        }
      }
    }
    if (!root) missing.push('root (to create a cgroup per room and start sandboxes as uid 65534)');
  }
  const cg = process.platform === 'linux' && process.getuid?.() === 0 ? probeCgroups() : null;
  if (cg && !cg.ok) missing.push(cg.missing);
  const status: SandboxStatus = { missing, sandbox, cgroups: cg?.ok ? cg.hierarchies : null };
  sandboxProbes.set(key, status);
  return status;
}
