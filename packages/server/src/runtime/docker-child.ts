/**
 * One room container seen as a sandbox child: its lifecycle (create, attach, start, wait,
 * remove), its exit verdict and its cgroup CPU clock. Which containers to run is `docker.ts`'s.
 */
import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from '../logger.js';
import type { SandboxChild } from './sandbox/supervisor.js';
import { settle } from './settle.js';

/** Longest wait, in ms, for the reader to drain a container's output after it exited, before `close`. */
const DRAIN_CAP_MS = 2_000;

/**
 * A room container seen as a {@link SandboxChild}: created, attached and started
 * asynchronously; removed after its exit was inspected. `exitReason` says why it ended when the
 * host did not end it (a kernel out-of-memory kill); `cpuTimeMs()` reads its cgroup.
 */
export class ContainerChild extends EventEmitter implements SandboxChild {
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly pid = undefined;
  containerId = '';
  /** Player-facing reason the container ended, when known and not caused by the host (set before `close`). */
  exitReason: string | undefined = undefined;
  /** Whether the kernel killed the container for exceeding its memory limit (`State.OOMKilled`). */
  oomKilled = false;
  readonly closed: Promise<void>;
  private container: Docker.Container | null = null;
  private killed = false;
  private finished = false;
  private started = false;
  private hostPid = 0;
  private pidLookedUp = false;
  /** The cgroup file with the container's CPU time: `undefined` = not looked up yet, `null` = none found. */
  private cpuFile: { path: string; kind: 'v1' | 'v2' } | null | undefined = undefined;

  constructor(
    private readonly docker: Docker,
    private readonly options: Docker.ContainerCreateOptions,
    private readonly log: Logger,
    private readonly memoryBytes: number,
  ) {
    super();
    this.closed = new Promise((r) => this.once('close', () => r()));
    void this.run();
  }

  /**
   * CPU time (user + system, ms) the whole container has used, from its cgroup: cgroup v1
   * `cpuacct.usage` (ns), cgroup v2 `cpu.stat` `usage_usec`. The cgroup is found from the
   * container's init pid (`/proc/<pid>/cgroup`), else at Docker's usual paths
   * (`/sys/fs/cgroup/cpuacct/docker/<id>`, `…/system.slice/docker-<id>.scope`). `undefined` before
   * the container runs, after it ended, or where no cgroup file can be read. Never throws.
   */
  cpuTimeMs(): number | undefined {
    if (!this.started || this.finished || !this.containerId) return undefined;
    if (this.cpuFile === undefined) {
      const found = findCpuFile(this.containerId, this.hostPid);
      // Not found before the init pid is known: look again once it is (its /proc/<pid>/cgroup is the surest way).
      if (found || this.pidLookedUp) this.cpuFile = found;
    }
    const f = this.cpuFile;
    if (!f) return undefined;
    try {
      const text = readFileSync(f.path, 'utf8');
      if (f.kind === 'v1') {
        const ns = Number(text.trim());
        return Number.isFinite(ns) ? ns / 1e6 : undefined;
      }
      const m = /^usage_usec (\d+)$/m.exec(text);
      return m ? Number(m[1]) / 1000 : undefined;
    } catch {
      return undefined;
    }
  }

  private async run(): Promise<void> {
    try {
      const c = await this.docker.createContainer(this.options);
      this.container = c;
      this.containerId = c.id;
      if (this.killed) {
        await c.remove({ force: true }).catch(() => {});
        this.finish(null, 'SIGKILL');
        return;
      }
      const stream = await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
      this.docker.modem.demuxStream(stream, this.stdout, this.stderr);
      this.stdin.pipe(stream);
      const waiting = c.wait({ condition: 'next-exit' });
      await c.start();
      this.started = true;
      c.inspect().then(
        (info) => {
          this.hostPid = typeof info?.State?.Pid === 'number' ? info.State.Pid : 0;
          this.pidLookedUp = true;
        },
        () => {
          this.pidLookedUp = true;
        },
      );
      const res = (await waiting) as { StatusCode?: number };
      const code = typeof res?.StatusCode === 'number' ? res.StatusCode : null;
      if (!this.killed) {
        try {
          const info = await c.inspect();
          this.oomKilled = info?.State?.OOMKilled === true;
        } catch {
          // removed meanwhile: no verdict
        }
        if (this.oomKilled) {
          this.exitReason = `the game exceeded its memory limit (${Math.round(this.memoryBytes / (1024 * 1024))} MiB)`;
          this.log.warn({ container: c.id.slice(0, 12), memoryBytes: this.memoryBytes }, 'room container killed by the kernel for memory');
        }
      }
      await c.remove({ force: true }).catch(() => {});
      this.finish(code, this.killed || this.oomKilled ? 'SIGKILL' : null);
    } catch (err) {
      if (!this.killed) this.log.error({ error: (err as Error).message }, 'room container failed');
      this.stderr.write(`container error: ${(err as Error).message}\n`);
      if (this.container) await this.container.remove({ force: true }).catch(() => {});
      this.finish(null, this.killed ? 'SIGKILL' : null);
    }
  }

  kill(): void {
    if (this.killed) return;
    this.killed = true;
    this.container?.remove({ force: true }).catch(() => {});
  }

  private finish(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.finished) return;
    this.finished = true;
    // Let demuxed output drain before reporting the end, as a child process's `close` does: the
    // reader may have paused the channel (the supervisor throttles a flood for up to a quarter
    // second), and a game's last message (its fatal error) is in what is left. A container the host
    // killed is not waited for; a reader that never drains is waited for at most DRAIN_CAP_MS.
    setTimeout(() => {
      this.stdout.end();
      this.stderr.end();
      if (this.killed) {
        this.emit('close', code, signal);
        return;
      }
      const ended = [this.stdout, this.stderr].map((s) => (s.readableEnded ? undefined : new Promise<void>((r) => s.once('end', () => r()))));
      void settle(Promise.all(ended), DRAIN_CAP_MS).then(() => this.emit('close', code, signal));
    }, 20);
  }
}

/** Where the CPU time of container `id` (init pid `pid`, 0 if unknown) can be read, or `null`. */
function findCpuFile(id: string, pid: number): { path: string; kind: 'v1' | 'v2' } | null {
  const candidates: Array<{ path: string; kind: 'v1' | 'v2' }> = [];
  if (pid > 0) {
    try {
      for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
        const [, controllers, path] = line.split(':');
        if (path === undefined) continue;
        if (controllers.split(',').includes('cpuacct')) {
          candidates.push({ path: `/sys/fs/cgroup/cpuacct${path}/cpuacct.usage`, kind: 'v1' });
          candidates.push({ path: `/sys/fs/cgroup/cpu,cpuacct${path}/cpuacct.usage`, kind: 'v1' });
        } else if (controllers === '') {
          candidates.push({ path: `/sys/fs/cgroup${path}/cpu.stat`, kind: 'v2' });
        }
      }
    } catch {
      // the process is gone or /proc is not ours
    }
  }
  for (const root of ['/sys/fs/cgroup/cpuacct', '/sys/fs/cgroup/cpu,cpuacct']) {
    candidates.push({ path: `${root}/docker/${id}/cpuacct.usage`, kind: 'v1' });
    candidates.push({ path: `${root}/system.slice/docker-${id}.scope/cpuacct.usage`, kind: 'v1' });
  }
  candidates.push({ path: `/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, kind: 'v2' });
  candidates.push({ path: `/sys/fs/cgroup/docker/${id}/cpu.stat`, kind: 'v2' });
  for (const c of candidates) {
    try {
      const text = readFileSync(c.path, 'utf8');
      if (c.kind === 'v1' ? /^\d+\s*$/.test(text) : /^usage_usec \d+$/m.test(text)) return c;
    } catch {
      // try the next
    }
  }
  return null;
}
