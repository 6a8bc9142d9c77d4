import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolvedGameMetadata } from '@parlor/squish';
import { buildSync } from 'esbuild';
import { RuntimeError, ServerErrorCode } from '../errors.js';
import { createConsoleLogger, type Logger } from '../logger.js';
import { DEFAULT_MAX_CHANNEL_MESSAGE_BYTES } from './channel.js';
import type { SessionRuntime, SessionSpec } from './runtime.js';
import { inspectInSandbox, pickSandboxLimits, superviseSandbox, type ProcessRuntimeSession, type SandboxChild, type SandboxLimits } from './sandbox/supervisor.js';

/** Options of {@link ProcessRuntime}. Durations in ms, sizes as stated. */
export interface ProcessRuntimeOptions extends SandboxLimits {
  /** V8 old-space heap cap of each session process (`--max-old-space-size`), in MiB. Default 64. */
  maxOldSpaceSizeMb?: number;
  /**
   * V8 young-generation semi-space size (`--max-semi-space-size`), in MiB: smaller means less
   * resident memory per session and more frequent (cheap) scavenges. Default `0`: V8's default (measured: no RSS difference for pong, whose RSS is mostly the shared node binary).
   */
  maxSemiSpaceSizeMb?: number;
  /**
   * CPU watchdog: a session whose event loop is blocked (a `tick` or hook that does not return)
   * for longer than this is killed; its players get an `error` message and close code 4500.
   * Default 1000.
   */
  tickTimeoutMs?: number;
  /** Time allowed from spawn to the game being built and ticking (module evaluation, constructor). Default 10 000. */
  startTimeoutMs?: number;
  /** Largest message a session process may send (one tick's frames), in bytes; larger kills the session. Default 8 MiB. */
  maxMessageBytes?: number;
  /**
   * Run each session process in its own empty network namespace (`unshare -n`, needs root or
   * CAP_SYS_ADMIN). `'auto'` (default) does so when `unshare -n` works on this machine;
   * `true` requires it (the runtime throws `RUNTIME_UNAVAILABLE` otherwise). Node 20's permission
   * model does not cover the network; without a namespace the runner still removes every network
   * API from the game's reach (see the runner).
   */
  isolateNetwork?: boolean | 'auto';
  /** Where the session processes' stdout/stderr and lifecycle lines go. Default: a console logger (`info`). */
  logger?: Logger;
  /** The `node` binary. Default `process.execPath`. */
  nodePath?: string;
  /** Path of the built runner (`process-runner.mjs`). Default: next to this module, or built from source once. */
  runnerPath?: string;
  /**
   * Idle session processes kept ready (Node booted, sandbox flags applied, no game yet), so a new
   * session skips Node's start-up (~40–200 ms depending on load). They are started on the first
   * `start()`/`inspect()` and refilled after each use. `0` disables the pool. Default 2.
   */
  poolSize?: number;
}

/** Default of {@link ProcessRuntimeOptions.maxOldSpaceSizeMb} (MiB). */
export const DEFAULT_PROCESS_HEAP_MB = 64;
/** Default of {@link ProcessRuntimeOptions.tickTimeoutMs} (ms). */
export const DEFAULT_TICK_TIMEOUT_MS = 1000;

/**
 * The `process` runtime: each session runs in its own Node child process under Node's permission
 * model — read access to the runner and the game's folder only; no file writes, child processes,
 * workers, native addons or code generation from strings (`eval`, `new Function`) — with a heap
 * cap and a CPU watchdog. The channel is length-prefixed msgpack over the child's stdin/stdout;
 * its stderr (and the game's `console`) goes to the host's log, tagged with the session id.
 *
 * When the child exits unexpectedly (out of memory, crash, `process.exit`) or the watchdog kills
 * it, the runtime reports a fatal `error` and `stopped`, so the session ends with 4500 and the
 * other sessions are unaffected.
 *
 * @throws {RuntimeError} from the constructor: `RUNTIME_UNAVAILABLE` when the permission model
 *   or a required network namespace is not available.
 */
export class ProcessRuntime implements SessionRuntime {
  readonly name = 'process';
  /** Whether sessions run in their own network namespace. */
  readonly networkIsolated: boolean;
  private readonly heapMb: number;
  private readonly semiSpaceMb: number;
  private readonly tickTimeoutMs: number;
  private readonly startTimeoutMs: number;
  private readonly maxMessageBytes: number;
  private readonly logger: Logger;
  private readonly nodePath: string;
  private readonly runnerPath: string;
  private readonly live = new Set<ChildProcessWithoutNullStreams>();
  private readonly pool: ChildProcessWithoutNullStreams[] = [];
  private readonly poolSize: number;
  private closed = false;
  private readonly limits: SandboxLimits;

  constructor(options: ProcessRuntimeOptions = {}) {
    this.heapMb = options.maxOldSpaceSizeMb ?? DEFAULT_PROCESS_HEAP_MB;
    this.semiSpaceMb = options.maxSemiSpaceSizeMb ?? 0;
    this.tickTimeoutMs = options.tickTimeoutMs ?? DEFAULT_TICK_TIMEOUT_MS;
    this.startTimeoutMs = options.startTimeoutMs ?? 10_000;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_CHANNEL_MESSAGE_BYTES;
    this.logger = options.logger ?? createConsoleLogger('info');
    this.nodePath = options.nodePath ?? process.execPath;
    if (!processRuntimeAvailable(this.nodePath)) {
      throw new RuntimeError(ServerErrorCode.RUNTIME_UNAVAILABLE, 'process', `${this.nodePath} has no permission model (--experimental-permission needs Node >= 20)`);
    }
    const canUnshare = networkNamespaceAvailable(this.nodePath);
    const want = options.isolateNetwork ?? 'auto';
    if (want === true && !canUnshare) {
      throw new RuntimeError(ServerErrorCode.RUNTIME_UNAVAILABLE, 'process', 'isolateNetwork: true but `unshare -n` does not work here (needs root or CAP_SYS_ADMIN)');
    }
    this.networkIsolated = want === 'auto' ? canUnshare : want;
    this.runnerPath = options.runnerPath ?? locateRunner();
    this.poolSize = Math.max(0, Math.floor(options.poolSize ?? 2));
    this.limits = pickSandboxLimits(options);
  }

  /**
   * Starts a session process for a game given as a file or folder (`spec.bundle`).
   * @throws {RuntimeError} `RUNTIME_START_FAILED` for a game given as a class (no bundle).
   */
  start(spec: SessionSpec): ProcessRuntimeSession {
    const bundle = spec.bundle;
    if (!bundle) {
      throw new RuntimeError(
        ServerErrorCode.RUNTIME_START_FAILED,
        'process',
        `game ${spec.game} was given as an in-process class; the process runtime needs a game file or folder`,
      );
    }
    return superviseSandbox(processChild(this.take()), spec, bundle, {
      ...this.limits,
      logger: this.logger,
      maxMessageBytes: this.maxMessageBytes,
      startTimeoutMs: this.startTimeoutMs,
      tickTimeoutMs: this.tickTimeoutMs,
      heapMb: this.heapMb,
    });
  }

  /**
   * Evaluates a game bundle in a sandboxed process (same restrictions as a session) and returns
   * its resolved metadata, so a host never evaluates untrusted code in its own process.
   * @throws {RuntimeError} `RUNTIME_START_FAILED` with the game's error (it threw while loading,
   *   has no Game class, bad metadata, timed out after `startTimeoutMs`).
   */
  inspect(bundle: { code: string; filename: string }, baseDir?: string): Promise<{ metadata: ResolvedGameMetadata; className: string }> {
    void baseDir; // the sandbox reads nothing but the runner: the code arrives over the channel
    return inspectInSandbox(processChild(this.take()), bundle, { startTimeoutMs: this.startTimeoutMs, maxMessageBytes: this.maxMessageBytes, runtime: 'process' });
  }

  /** Kills every session process still running. */
  async close(): Promise<void> {
    this.closed = true;
    this.pool.length = 0;
    const waits = [...this.live].map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))));
    for (const c of this.live) c.kill('SIGKILL');
    await Promise.all(waits);
  }

  /**
   * The command line of a session process (for logs and tests). The only file-system grant is
   * read access to the runner file itself: the game's code arrives over the channel, so the
   * sandbox does not even read the game's folder.
   */
  commandLine(): { command: string; args: string[] } {
    const nodeArgs = [
      '--experimental-permission',
      `--allow-fs-read=${this.runnerPath}`,
      '--disallow-code-generation-from-strings',
      `--max-old-space-size=${this.heapMb}`,
      ...(this.semiSpaceMb > 0 ? [`--max-semi-space-size=${this.semiSpaceMb}`] : []),
      '--no-warnings',
      this.runnerPath,
    ];
    return this.networkIsolated ? { command: 'unshare', args: ['-n', this.nodePath, ...nodeArgs] } : { command: this.nodePath, args: nodeArgs };
  }

  private spawnRunner(): ChildProcessWithoutNullStreams {
    const { command, args } = this.commandLine();
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: {}, cwd: dirname(this.runnerPath), windowsHide: true });
    child.stdin.on('error', () => {});
    child.on('error', () => {});
    this.live.add(child);
    child.once('exit', () => {
      this.live.delete(child);
      const i = this.pool.indexOf(child);
      if (i >= 0) this.pool.splice(i, 1);
    });
    return child;
  }

  /** An idle process from the pool (or a fresh one); schedules a refill. */
  private take(): ChildProcessWithoutNullStreams {
    let child: ChildProcessWithoutNullStreams | undefined;
    while ((child = this.pool.shift())) {
      if (child.exitCode === null && child.signalCode === null && !child.killed) break;
    }
    child ??= this.spawnRunner();
    setImmediate(() => this.refill());
    return child;
  }

  private refill(): void {
    while (!this.closed && this.pool.length < this.poolSize) this.pool.push(this.spawnRunner());
  }
}

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

let unshareProbe: boolean | null = null;
/** Whether `unshare -n` can start a process in an empty network namespace here (root/CAP_SYS_ADMIN). Cached. */
export function networkNamespaceAvailable(nodePath = process.execPath): boolean {
  if (unshareProbe === null) {
    if (process.platform !== 'linux') return (unshareProbe = false);
    const r = spawnSync('unshare', ['-n', nodePath, '-e', '0'], { env: {}, timeout: 10_000 });
    unshareProbe = r.status === 0;
  }
  return unshareProbe;
}

/** Path of the process runner script (built from source once when running from source). */
export function processRunnerPath(): string {
  return locateRunner();
}

let runnerCache: string | null = null;
/**
 * Finds the runner script: `process-runner.mjs` next to this module (the built package), else
 * bundles `src/runner/process-runner.ts` with esbuild once into a content-addressed folder under
 * the OS temp dir (running from source, e.g. in tests).
 */
function locateRunner(): string {
  if (runnerCache && existsSync(runnerCache)) return runnerCache;
  const here = dirname(fileURLToPath(import.meta.url));
  for (const c of [join(here, 'process-runner.mjs'), join(here, '..', 'process-runner.mjs')]) {
    if (existsSync(c)) return (runnerCache = c);
  }
  const src = join(here, '..', 'runner', 'process-runner.ts');
  if (!existsSync(src)) {
    throw new RuntimeError(ServerErrorCode.RUNTIME_UNAVAILABLE, 'process', `process runner not found next to ${here} (build @parlor/server)`);
  }
  const squishSrc = join(here, '..', '..', '..', 'squish', 'src', 'index.ts');
  const result = buildSync({
    entryPoints: [src],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    alias: existsSync(squishSrc) ? { '@parlor/squish': squishSrc } : {},
    external: ['msgpackr-extract'],
  });
  const text = result.outputFiles![0].contents;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `parlor-runner-${hash}`);
  const file = join(dir, 'process-runner.mjs');
  if (!existsSync(file) || !readFileSync(file).equals(Buffer.from(text))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${file}.${process.pid}.tmp`, text);
    renameSync(`${file}.${process.pid}.tmp`, file); // atomic publish
  }
  return (runnerCache = file);
}

function processChild(child: ChildProcessWithoutNullStreams): SandboxChild {
  return {
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    get pid() {
      return child.pid;
    },
    kill: () => void child.kill('SIGKILL'),
    once: (event, listener) => child.once(event, listener),
    cpuTimeMs: () => procCpuTimeMs(child.pid),
  };
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
