/**
 * The `process` runtime: its options and defaults, and the pool of sandboxed room processes it
 * spawns and kills. What the machine supports is `sandbox/probe.ts`'s; the runner file is `sandbox/runner-file.ts`'s.
 * A little over 400 lines because of the isolation contract documented on {@link ProcessRuntime}.
 */
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams, type StdioOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ResolvedGameMetadata } from '@parlor/squish';
import { RuntimeError, ServerErrorCode } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { DEFAULT_MAX_CHANNEL_MESSAGE_BYTES } from './channel.js';
import type { RoomRuntime, RoomSpec } from './runtime.js';
import { RUNNER_FD, SANDBOX_RUNNER_PATH, bwrapCommand, inCgroupCommand } from './sandbox/bwrap.js';
import { CgroupTree, type RoomCgroup } from './sandbox/cgroup.js';
import { inspectInSandbox } from './sandbox/inspect.js';
import { processRuntimeAvailable, sandboxStatus, type SandboxProbe } from './sandbox/probe.js';
import { processRunnerPath } from './sandbox/runner-file.js';
import { pickSandboxLimits, superviseSandbox, type SandboxRoomChannel, type SandboxChild, type SandboxLimits } from './sandbox/supervisor.js';

/** Options of {@link ProcessRuntime}. Durations in ms, sizes as stated. */
export interface ProcessRuntimeOptions extends SandboxLimits {
  /** V8 old-space heap cap of each room process (`--max-old-space-size`), in MiB. Default 64. */
  maxOldSpaceSizeMb?: number;
  /**
   * V8 young-generation semi-space size (`--max-semi-space-size`), in MiB: smaller means less
   * resident memory per room and more frequent (cheap) scavenges. Default `0`: V8's default (measured: no RSS difference for pong, whose RSS is mostly the shared node binary).
   */
  maxSemiSpaceSizeMb?: number;
  /**
   * Kernel memory limit of each room's sandbox (cgroup `memory.limit_in_bytes`, and
   * `memory.memsw.limit_in_bytes` so it cannot swap either), in MiB. Covers everything the room's
   * processes map: the V8 heap, `Buffer`s and other external memory, WebAssembly memories, code
   * and stacks. A room over it is killed by the kernel and its players read "the game exceeded its
   * memory limit (<n> MiB)". Must be well above {@link maxOldSpaceSizeMb}: the cgroup is charged
   * with the pages the room itself touches first (measured ~11 MiB for an idle pong room, whose
   * RSS is ~45 MiB mostly shared with other rooms), plus the heap it grows. Default 128.
   */
  memoryLimitMb?: number;
  /** Most tasks (processes and threads, cgroup `pids.max`) in one room's sandbox. Node uses ~12. Default 32. */
  pidsMax?: number;
  /** CPU quota of one room's sandbox, in cores (cgroup CFS quota over a 100 ms period). Default 1. */
  cpuCores?: number;
  /**
   * DEVELOPMENT ONLY. Where the kernel cannot isolate rooms (no bubblewrap, no unprivileged user
   * namespaces, not root, no cgroup v1 controllers), start anyway with whatever is available
   * (Node's permission model at least) instead of throwing `SERVER_RUNTIME_UNAVAILABLE`; a warning naming
   * what is not isolated is logged when the runtime is created and at every room start. Never set
   * it where strangers' games run. CLI: `parlor serve --unsafe-weak-sandbox`. Default `false`.
   */
  unsafeWeakSandbox?: boolean;
  /**
   * CPU watchdog: a room whose event loop is blocked (a `tick` or hook that does not return)
   * for longer than this is killed; its players get an `error` message and close code 4500.
   * Default 1000.
   */
  tickTimeoutMs?: number;
  /**
   * How long a turn-based game's `generateTurn` may keep its room process busy (ms): a turn is one
   * long call by design, so it gets this instead of `tickTimeoutMs`. Default 10 000.
   */
  turnTimeoutMs?: number;
  /** Time allowed from spawn to the game being built and ticking (module evaluation, constructor). Default 10 000. */
  startTimeoutMs?: number;
  /** Largest message a room process may send (one tick's frames), in bytes; larger kills the room. Default 8 MiB. */
  maxMessageBytes?: number;
  /** Where the room processes' stdout/stderr and lifecycle lines go. Default: {@link createLogger} (pino JSON lines on stdout, `info`). */
  logger?: Logger;
  /** The `node` binary. Default `process.execPath`. */
  nodePath?: string;
  /** The bubblewrap binary. Default: `bwrap` on `PATH` or in the usual system directories. */
  bwrapPath?: string;
  /** Path of the built runner (`process-runner.mjs`). Default: next to this module, or built from source once. */
  runnerPath?: string;
  /**
   * Idle room processes kept ready (sandbox set up, Node booted, no game yet), so a new
   * room skips Node's start-up (~40–200 ms depending on load). They are started on the first
   * `start()`/`inspect()` and refilled after each use (a failed refill is retried after 1 s).
   * `0` disables the pool. Default 2.
   */
  poolSize?: number;
}

/** Default of {@link ProcessRuntimeOptions.maxOldSpaceSizeMb} (MiB). */
export const DEFAULT_PROCESS_HEAP_MB = 64;
/** Default of {@link ProcessRuntimeOptions.tickTimeoutMs} (ms). */
export const DEFAULT_TICK_TIMEOUT_MS = 1000;
/** Default of {@link ProcessRuntimeOptions.memoryLimitMb} (MiB). */
export const DEFAULT_PROCESS_MEMORY_MB = 128;
/** Default of {@link ProcessRuntimeOptions.pidsMax}. */
export const DEFAULT_PROCESS_PIDS_MAX = 32;

const REFILL_RETRY_MS = 1000;

/**
 * The `process` runtime: each room runs in its own Node process inside an OS sandbox, with Node's
 * permission model on top (defence in depth).
 *
 * What is isolated (Linux, server running as root):
 * - bubblewrap (`bwrap`), started through `setpriv` as uid/gid 65534 (`nobody`) with no
 *   capabilities and `no_new_privs`: its own user, pid, network (loopback only: no route out, no
 *   host ports, no abstract unix sockets of the host), mount, IPC, UTS and cgroup namespaces, and
 *   no nested user namespaces (bubblewrap 0.8+); an empty environment; a new session (setsid); killed when
 *   the server dies.
 * - A read-only root filesystem holding only the node binary, the shared libraries `ldd` lists
 *   for it and a private copy of the runner, plus a fresh `/proc` of its own pid namespace and a
 *   read-only minimal `/dev`. No `/run`, `/var/run` (no `docker.sock`), `/tmp`, `/etc` or any
 *   writable path; no socket file can be created.
 * - One cgroup (v1) per room: memory ({@link ProcessRuntimeOptions.memoryLimitMb}, heap and
 *   everything else, no swap), tasks ({@link ProcessRuntimeOptions.pidsMax}), CPU quota
 *   ({@link ProcessRuntimeOptions.cpuCores}); its `cpuacct` clock feeds the supervisor's CPU
 *   budget. A kernel out-of-memory kill reaches players as "the game exceeded its memory limit".
 * - Node's permission model: read access to the runner only; no file writes, child processes,
 *   workers, native addons or code generation from strings (`eval`, `new Function`); heap cap.
 *   The runner captures its channel before the game runs: the game's `process.stdin/stdout/
 *   stderr` are plain non-socket streams, and `process.binding`, `_linkedBinding`, `report`,
 *   `_getActiveHandles`/`_getActiveRequests` and the like are gone.
 *
 * Not covered: there is no seccomp filter (a room can make any system call its namespaces allow,
 * so a kernel bug reachable from an unprivileged user namespace remains the residual risk; the
 * docker runtime adds Docker's seccomp profile), and disk/network bandwidth are not limited (a room
 * has neither).
 *
 * What the kernel must provide: `bwrap` (Debian `bubblewrap`), `setpriv` (util-linux),
 * unprivileged user namespaces, and the cgroup v1 `memory`, `pids`, `cpu` and `cpuacct`
 * controllers with permission to create cgroups (root). cgroup v2-only hosts are not supported.
 * Where any of this is missing the constructor throws, unless
 * {@link ProcessRuntimeOptions.unsafeWeakSandbox} is set.
 *
 * The channel is length-prefixed msgpack over the child's stdin/stdout; its stderr (and the
 * game's `console`) goes to the host's log, tagged with the room id. When the child exits
 * unexpectedly or the supervisor kills it, the room ends with 4500 and the others are
 * unaffected.
 *
 * @throws {RuntimeError} from the constructor: `SERVER_RUNTIME_UNAVAILABLE` when Node has no permission
 *   model, or when the OS sandbox cannot be set up here (the message names what is missing and
 *   how to get it) and `unsafeWeakSandbox` is not set.
 */
export class ProcessRuntime implements RoomRuntime {
  readonly name = 'process';
  /** Whether rooms run in their own network namespace (bubblewrap): `false` only with `unsafeWeakSandbox`. */
  readonly networkIsolated: boolean;
  /** What is NOT isolated on this machine (empty unless `unsafeWeakSandbox` let the runtime start without it). */
  readonly weaknesses: readonly string[];
  private readonly heapMb: number;
  private readonly semiSpaceMb: number;
  private readonly tickTimeoutMs: number;
  private readonly turnTimeoutMs: number | undefined;
  private readonly startTimeoutMs: number;
  private readonly maxMessageBytes: number;
  private readonly logger: Logger;
  private readonly nodePath: string;
  private readonly runnerPath: string;
  private readonly live = new Set<ChildProcessWithoutNullStreams>();
  private readonly pool: ChildProcessWithoutNullStreams[] = [];
  private readonly cgroupOf = new WeakMap<ChildProcess, RoomCgroup>();
  private readonly poolSize: number;
  private closed = false;
  private refillTimer: NodeJS.Timeout | null = null;
  private readonly limits: SandboxLimits;
  private readonly sandbox: SandboxProbe | null;
  private readonly cgroups: CgroupTree | null;
  private readonly memoryBytes: number;
  private readonly pidsMax: number;
  private readonly cpuCores: number;

  constructor(options: ProcessRuntimeOptions = {}) {
    this.heapMb = options.maxOldSpaceSizeMb ?? DEFAULT_PROCESS_HEAP_MB;
    this.semiSpaceMb = options.maxSemiSpaceSizeMb ?? 0;
    this.tickTimeoutMs = options.tickTimeoutMs ?? DEFAULT_TICK_TIMEOUT_MS;
    this.turnTimeoutMs = options.turnTimeoutMs;
    this.startTimeoutMs = options.startTimeoutMs ?? 10_000;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_CHANNEL_MESSAGE_BYTES;
    this.logger = options.logger ?? createLogger();
    this.nodePath = options.nodePath ?? process.execPath;
    this.memoryBytes = Math.max(32, options.memoryLimitMb ?? DEFAULT_PROCESS_MEMORY_MB) * 1024 * 1024;
    this.pidsMax = Math.max(8, Math.floor(options.pidsMax ?? DEFAULT_PROCESS_PIDS_MAX));
    this.cpuCores = Math.max(0.05, options.cpuCores ?? 1);
    if (!processRuntimeAvailable(this.nodePath)) {
      throw new RuntimeError(ServerErrorCode.RUNTIME_UNAVAILABLE, 'process', `${this.nodePath} has no permission model (--experimental-permission needs Node >= 20)`);
    }
    const status = sandboxStatus(this.nodePath, options.bwrapPath);
    const problems = [...status.missing];
    if (problems.length && !options.unsafeWeakSandbox) {
      throw new RuntimeError(
        ServerErrorCode.RUNTIME_UNAVAILABLE,
        'process',
        `the process runtime cannot isolate games on this machine: missing ${problems.join('; ')}. ` +
          'It needs bubblewrap (apt-get install bubblewrap), setpriv (util-linux), unprivileged user namespaces, and the cgroup v1 memory, pids, cpu and cpuacct controllers with the server running as root. ' +
          'Use the docker runtime instead, or, for development only, unsafeWeakSandbox: true (parlor serve --unsafe-weak-sandbox)',
      );
    }
    this.sandbox = status.sandbox;
    let cgroups: CgroupTree | null = null;
    if (status.cgroups) {
      try {
        cgroups = new CgroupTree(status.cgroups, `${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
      } catch (err) {
        const why = `cgroups (${(err as Error).message})`;
        if (!options.unsafeWeakSandbox) throw new RuntimeError(ServerErrorCode.RUNTIME_UNAVAILABLE, 'process', `the process runtime cannot create its cgroups: ${why}`);
        problems.push(why);
      }
    }
    this.cgroups = cgroups;
    this.weaknesses = problems;
    this.networkIsolated = this.sandbox !== null;
    if (problems.length) this.logger.warn({ runtime: 'process', unsafe: true, weaknesses: this.weaknessText() }, 'UNSAFE: the process runtime runs games WITHOUT full OS isolation (unsafeWeakSandbox, development only)');
    this.runnerPath = options.runnerPath ?? processRunnerPath();
    this.poolSize = Math.max(0, Math.floor(options.poolSize ?? 2));
    this.limits = pickSandboxLimits(options);
  }

  private weaknessText(): string {
    const not: string[] = [];
    if (!this.sandbox) not.push('no namespaces: the game shares the host\'s network (TCP out, host ports, unix sockets such as docker.sock), file system view, pids and uid; only Node\'s permission model stands between it and the host');
    if (!this.cgroups) not.push('no cgroup: memory outside the V8 heap (Buffers, WebAssembly), tasks and CPU are unbounded');
    return `${not.join('; ')} (missing: ${this.weaknesses.join('; ')})`;
  }

  /**
   * Starts a room process for a game given as a file or folder (`spec.bundle`).
   * @throws {RuntimeError} `SERVER_RUNTIME_START_FAILED` for a game given as a class (no bundle), or when
   *   no sandbox process can be started right now (e.g. out of file descriptors); other rooms are
   *   unaffected and the pool is refilled later.
   */
  start(spec: RoomSpec): SandboxRoomChannel {
    const bundle = spec.bundle;
    if (!bundle) {
      throw new RuntimeError(
        ServerErrorCode.RUNTIME_START_FAILED,
        'process',
        `game ${spec.game} was given as an in-process class; the process runtime needs a game file or folder`,
      );
    }
    if (this.weaknesses.length) (spec.logger ?? this.logger.child({ game: spec.game, room: spec.roomId })).warn({ unsafe: true, weaknesses: this.weaknessText() }, 'UNSAFE: room started without full OS isolation');
    return superviseSandbox(this.processChild(this.take()), spec, bundle, {
      ...this.limits,
      logger: this.logger,
      maxMessageBytes: this.maxMessageBytes,
      startTimeoutMs: this.startTimeoutMs,
      tickTimeoutMs: this.tickTimeoutMs,
      turnTimeoutMs: this.turnTimeoutMs,
      heapMb: this.heapMb,
    });
  }

  /**
   * Evaluates a game bundle in a sandboxed process (same restrictions as a room) and returns
   * its resolved metadata, so a host never evaluates untrusted code in its own process.
   * @throws {RuntimeError} `SERVER_RUNTIME_START_FAILED` with the game's error (it threw while loading,
   *   has no Game class, bad metadata, timed out after `startTimeoutMs`) or when no sandbox
   *   process can be started right now.
   */
  inspect(bundle: { code: string; filename: string }, baseDir?: string): Promise<{ metadata: ResolvedGameMetadata; className: string }> {
    void baseDir; // the sandbox reads nothing but the runner: the code arrives over the channel
    let child: ChildProcessWithoutNullStreams;
    try {
      child = this.take();
    } catch (err) {
      return Promise.reject(err);
    }
    return inspectInSandbox(this.processChild(child), bundle, { startTimeoutMs: this.startTimeoutMs, maxMessageBytes: this.maxMessageBytes, runtime: 'process' });
  }

  /** Kills every room process still running and removes the runtime's cgroups. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.refillTimer) clearTimeout(this.refillTimer);
    this.pool.length = 0;
    const waits = [...this.live].map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))));
    for (const c of this.live) this.killChild(c);
    await Promise.all(waits);
    await this.cgroups?.close();
  }

  /**
   * The command line of a room's sandbox (for logs and tests), without the cgroup entry (each
   * spawn runs it through `/bin/sh -c 'echo $$ > …/cgroup.procs …; exec "$@"'` so the sandbox is
   * born inside its room's cgroup). The node arguments come last; the only file-system grant is
   * read access to the runner file itself: the game's code arrives over the channel.
   */
  commandLine(): { command: string; args: string[] } {
    const runner = this.sandbox ? SANDBOX_RUNNER_PATH : this.runnerPath;
    const nodeArgs = [
      '--experimental-permission',
      `--allow-fs-read=${runner}`,
      '--disallow-code-generation-from-strings',
      `--max-old-space-size=${this.heapMb}`,
      ...(this.semiSpaceMb > 0 ? [`--max-semi-space-size=${this.semiSpaceMb}`] : []),
      '--no-warnings',
      runner,
    ];
    if (!this.sandbox) return { command: this.nodePath, args: nodeArgs };
    return bwrapCommand({ ...this.sandbox, nodePath: this.nodePath, nodeArgs });
  }

  /**
   * Spawns one sandboxed runner (in its own cgroup).
   * @throws {RuntimeError} `SERVER_RUNTIME_START_FAILED` when it cannot be started (e.g. `EMFILE`).
   */
  private spawnRunner(): ChildProcessWithoutNullStreams {
    let cgroup: RoomCgroup | null = null;
    let runnerFd: number | undefined;
    let child: ChildProcess;
    try {
      cgroup = this.cgroups?.create({ memoryBytes: this.memoryBytes, pidsMax: this.pidsMax, cpuCores: this.cpuCores }) ?? null;
      let cmd = this.commandLine();
      if (cgroup) cmd = inCgroupCommand(cgroup.procsFiles, cmd);
      const stdio: StdioOptions = ['pipe', 'pipe', 'pipe'];
      if (this.sandbox) {
        runnerFd = openSync(this.runnerPath, 'r');
        stdio[RUNNER_FD] = runnerFd;
      }
      // detached: its own process group, so a terminal's Ctrl-C (SIGINT to the whole foreground
      // group) reaches only the server, which then ends its rooms in order; the room process still
      // dies with the server (bwrap --die-with-parent, and the runner exits when its channel closes).
      child = spawn(cmd.command, cmd.args, { stdio, env: {}, cwd: this.sandbox ? '/' : dirname(this.runnerPath), windowsHide: true, detached: true });
      child.on('error', () => {}); // e.g. EMFILE, reported asynchronously: handled below and by 'close'
    } catch (err) {
      void cgroup?.remove();
      throw startFailed(err);
    } finally {
      if (runnerFd !== undefined) closeSync(runnerFd);
    }
    if (child.pid === undefined || !child.stdin || !child.stdout || !child.stderr) {
      // spawn failed (EMFILE/ENFILE/EAGAIN…): Node reports it on 'error' and leaves the stdio unset
      child.stdin?.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
      void cgroup?.remove();
      throw startFailed(new Error('spawn failed (out of file descriptors or processes?)'));
    }
    const c = child as ChildProcessWithoutNullStreams;
    c.stdin.on('error', () => {});
    this.live.add(c);
    if (cgroup) this.cgroupOf.set(c, cgroup);
    c.once('exit', () => {
      this.live.delete(c);
      const i = this.pool.indexOf(c);
      if (i >= 0) this.pool.splice(i, 1);
      // the kernel's verdict (OOM kill, CPU time) is read before the cgroup goes
      void cgroup?.remove();
    });
    return c;
  }

  private killChild(c: ChildProcess): void {
    c.kill('SIGKILL');
    this.cgroupOf.get(c)?.killAll();
  }

  /**
   * An idle process from the pool (or a fresh one); schedules a refill.
   * @throws {RuntimeError} `SERVER_RUNTIME_START_FAILED` when no process can be started.
   */
  private take(): ChildProcessWithoutNullStreams {
    let child: ChildProcessWithoutNullStreams | undefined;
    while ((child = this.pool.shift())) {
      if (child.exitCode === null && child.signalCode === null && !child.killed) break;
    }
    if (!this.refillTimer) setImmediate(() => this.refill());
    return child ?? this.spawnRunner();
  }

  private refill(): void {
    while (!this.closed && this.pool.length < this.poolSize) {
      try {
        this.pool.push(this.spawnRunner());
      } catch (err) {
        if (!this.refillTimer) this.logger.warn({ retryMs: REFILL_RETRY_MS, error: (err as Error).message }, 'process pool refill failed');
        this.refillTimer ??= setTimeout(() => {
          this.refillTimer = null;
          this.refill();
        }, REFILL_RETRY_MS);
        this.refillTimer.unref?.();
        return;
      }
    }
  }

  private processChild(child: ChildProcessWithoutNullStreams): SandboxChild {
    const cgroup = this.cgroupOf.get(child);
    const memoryMb = Math.round(this.memoryBytes / (1024 * 1024));
    const sandboxed = this.sandbox !== null;
    return {
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      get pid() {
        return child.pid;
      },
      kill: () => this.killChild(child),
      once: (event, listener) => child.once(event, listener),
      // the whole sandbox's CPU clock from its cgroup; without one (unsafe mode) /proc of a bare node
      cpuTimeMs: () => (cgroup ? cgroup.cpuTimeMs() : sandboxed ? undefined : procCpuTimeMs(child.pid)),
      get exitReason() {
        return cgroup?.oomKilled() ? `the game exceeded its memory limit (${memoryMb} MiB)` : undefined;
      },
    };
  }
}

function startFailed(err: unknown): RuntimeError {
  const code = (err as NodeJS.ErrnoException)?.code;
  const msg = err instanceof Error ? err.message : 'unknown error';
  return new RuntimeError(ServerErrorCode.RUNTIME_START_FAILED, 'process', `could not start a sandbox process${code ? ` (${code})` : ''}: ${msg}`);
}

const CLOCK_TICK_MS = 10; // USER_HZ = 100 on Linux
/**
 * CPU time (user + system, ms) of a process and its waited-for children, from the kernel's
 * `/proc/<pid>/stat` (fields 14–17); `undefined` when it cannot be read (not Linux, process gone).
 */
function procCpuTimeMs(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state is f[0], so utime..cstime (fields 14..17) are f[11..14]
    const t = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    return Number.isFinite(t) ? t * CLOCK_TICK_MS : undefined;
  } catch {
    return undefined;
  }
}
