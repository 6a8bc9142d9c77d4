import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import type { ResolvedGameMetadata } from '@parlor/squish';
import { buildSync } from 'esbuild';
import type { EngineToHostMessage, HostToEngineMessage } from '../engine/messages.js';
import { DEFAULT_MAX_CONSECUTIVE_ERRORS } from '../engine/session-engine.js';
import { RuntimeError, ServerErrorCode } from '../errors.js';
import { createConsoleLogger, kv, type Logger } from '../logger.js';
import type { RunnerBootMessage } from '../runner/protocol.js';
import { ChannelDecoder, ChannelError, DEFAULT_MAX_CHANNEL_MESSAGE_BYTES, encodeChannelMessage } from './channel.js';
import type { RuntimeSession, SessionRuntime, SessionSpec } from './runtime.js';

/** Options of {@link ProcessRuntime}. Durations in ms, sizes as stated. */
export interface ProcessRuntimeOptions {
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

/** A session started by {@link ProcessRuntime}: the channel plus the child's pid. */
export interface ProcessRuntimeSession extends RuntimeSession {
  /** OS process id of the session process (`undefined` if the spawn failed). */
  readonly pid: number | undefined;
  /** ms from `start()` to the first message of the session process, or `null` before it. */
  readonly startLatencyMs: number | null;
}

/** Default of {@link ProcessRuntimeOptions.maxOldSpaceSizeMb} (MiB). */
export const DEFAULT_PROCESS_HEAP_MB = 64;
/** Default of {@link ProcessRuntimeOptions.tickTimeoutMs} (ms). */
export const DEFAULT_TICK_TIMEOUT_MS = 1000;

const STDERR_LINES_PER_SECOND = 20;
const MAX_STDERR_LINE = 1000;

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

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Validates a message from an untrusted session process; `null` when malformed. */
function checkEngineMessage(m: unknown): EngineToHostMessage | 'hb' | null {
  if (!m || typeof m !== 'object') return null;
  const msg = m as Record<string, unknown>;
  switch (msg.type) {
    case 'hb':
      return 'hb';
    case 'stopped':
      return { type: 'stopped' };
    case 'error':
      return {
        type: 'error',
        where: String(msg.where ?? '').slice(0, 64),
        message: String(msg.message ?? '').slice(0, 2000),
        stack: String(msg.stack ?? '').slice(0, 8000),
        fatal: msg.fatal === true,
      };
    case 'frames': {
      const { seq, parts, sends, tickMs } = msg;
      if (!isNum(seq) || !isNum(tickMs) || !Array.isArray(parts) || !Array.isArray(sends)) return null;
      for (const p of parts) if (!(p instanceof Uint8Array) || p.byteLength === 0) return null;
      for (const s of sends as unknown[]) {
        const send = s as { playerId?: unknown; parts?: unknown };
        if (!send || !isNum(send.playerId) || !Array.isArray(send.parts)) return null;
        for (const i of send.parts) if (!Number.isInteger(i) || i < 0 || i >= parts.length) return null;
      }
      return { type: 'frames', seq, tickMs, parts: parts as Uint8Array[], sends: sends as Array<{ playerId: number; parts: number[] }> };
    }
    default:
      return null;
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

/** The streams and controls of a sandbox (a child process, a container) as the supervisor sees them. */
export interface SandboxChild {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** OS pid, when there is one. */
  readonly pid: number | undefined;
  /** Kills the sandbox at once (SIGKILL). */
  kill(): void;
  /** `close`: the sandbox is gone and its output streams are drained. */
  once(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
}

/** Limits the supervisor enforces (see {@link ProcessRuntimeOptions}). */
export interface SuperviseConfig {
  logger: Logger;
  maxMessageBytes: number;
  startTimeoutMs: number;
  tickTimeoutMs: number;
  /** Heap cap, for the out-of-memory message (MiB). */
  heapMb: number;
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
  };
}

/**
 * Runs one session in a sandbox over the length-prefixed msgpack channel: sends `boot`, validates
 * every message from the (untrusted) sandbox, logs its stderr tagged with the session id, runs the
 * CPU watchdog (heartbeats) and the frame-size limit, and turns any death of the sandbox into a
 * fatal `error` + `stopped` for the host. Shared by the process and docker runtimes.
 */
export function superviseSandbox(
  child: SandboxChild,
  spec: SessionSpec,
  bundle: { code: string; filename: string },
  cfg: SuperviseConfig,
): ProcessRuntimeSession {
    const log = spec.logger ?? cfg.logger;
    const tag = { game: spec.game, session: spec.sessionId };
    const started = performance.now();
    let handler: ((msg: EngineToHostMessage) => void) | null = null;
    const pending: EngineToHostMessage[] = [];
    let dead = false; // the child exited or was killed
    let terminated = false; // terminate() called: deliver nothing more
    let reported = false; // a fatal error was reported to the host
    let stoppedSent = false;
    let lastBeat = 0;
    let firstAt: number | null = null;
    let oom = false;
    let killReason: string | null = null;
    const decoder = new ChannelDecoder(cfg.maxMessageBytes);

    const deliver = (msg: EngineToHostMessage): void => {
      if (terminated) return;
      if (msg.type === 'stopped') {
        if (stoppedSent) return;
        stoppedSent = true;
      }
      if (msg.type === 'error' && msg.fatal) reported = true;
      if (handler) handler(msg);
      else pending.push(msg);
    };
    const fail = (where: string, message: string): void => {
      if (!reported) deliver({ type: 'error', where, message, stack: '', fatal: true });
      deliver({ type: 'stopped' });
    };
    const kill = (where: string, reason: string): void => {
      if (dead) return;
      killReason = reason;
      log.warn(`session process killed: ${kv({ ...tag, pid: child.pid, reason })}`);
      child.kill();
      fail(where, reason);
    };

    child.stdout.on('data', (chunk: Buffer) => {
      if (dead) return;
      let msgs: unknown[];
      try {
        msgs = decoder.push(chunk);
      } catch (err) {
        kill('channel', err instanceof ChannelError && err.reason === 'too_large' ? `the game sent a frame too large (${err.message})` : `protocol violation: ${(err as Error).message}`);
        return;
      }
      const now = performance.now();
      if (firstAt === null && msgs.length) {
        firstAt = now - started;
        log.debug(`session process ready: ${kv({ ...tag, pid: child.pid, startMs: firstAt.toFixed(1) })}`);
      }
      for (const m of msgs) {
        lastBeat = now;
        const msg = checkEngineMessage(m);
        if (msg === 'hb') continue;
        if (!msg) {
          kill('channel', 'protocol violation: malformed message from the session process');
          return;
        }
        deliver(msg);
      }
    });

    let stderrBuf = '';
    let windowStart = 0;
    let linesInWindow = 0;
    let suppressed = 0;
    const logLine = (line: string): void => {
      if (/heap out of memory|Reached heap limit/i.test(line)) oom = true;
      const now = Date.now();
      if (now - windowStart >= 1000) {
        if (suppressed) log.warn(`game output suppressed: ${kv({ ...tag, lines: suppressed })}`);
        windowStart = now;
        linesInWindow = 0;
        suppressed = 0;
      }
      if (linesInWindow++ < STDERR_LINES_PER_SECOND) log.info(`game output: ${kv(tag)}: ${line.slice(0, MAX_STDERR_LINE)}`);
      else suppressed++;
    };
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      stderrBuf += s;
      let i: number;
      while ((i = stderrBuf.indexOf('\n')) >= 0) {
        const line = stderrBuf.slice(0, i).trimEnd();
        stderrBuf = stderrBuf.slice(i + 1);
        if (line && !/ExperimentalWarning: Permission|--trace-warnings/.test(line)) logLine(line);
      }
      if (stderrBuf.length > 64 * 1024) {
        logLine(stderrBuf.slice(0, MAX_STDERR_LINE));
        stderrBuf = '';
      }
    });
    child.stdin.on('error', () => {});

    const watchdog = setInterval(
      () => {
        if (dead) return;
        const now = performance.now();
        if (lastBeat === 0) {
          if (now - started > cfg.startTimeoutMs) kill('watchdog', `the game did not start within ${cfg.startTimeoutMs} ms`);
        } else if (now - lastBeat > cfg.tickTimeoutMs) {
          kill('watchdog', `the game blocked its tick loop for more than ${cfg.tickTimeoutMs} ms`);
        }
      },
      Math.max(10, Math.min(100, cfg.tickTimeoutMs / 4)),
    );
    watchdog.unref?.();

    const exited = new Promise<void>((resolveExit) => {
      child.once('close', (code, signal) => {
        dead = true;
        clearInterval(watchdog);
        if (stderrBuf.trim()) logLine(stderrBuf.trim());
        stderrBuf = '';
        if (!terminated && !killReason) {
          const why = oom
            ? `the game ran out of memory (heap cap ${cfg.heapMb} MiB)`
            : `the session process exited unexpectedly (${signal ? `signal ${signal}` : `code ${String(code)}`})`;
          if (!stoppedSent) log.warn(`session process exited: ${kv({ ...tag, pid: child.pid, code, signal, oom })}`);
          fail('process', why);
        }
        resolveExit();
      });
    });

    const boot: RunnerBootMessage = {
      type: 'boot',
      mode: 'run',
      code: bundle.code,
      filename: bundle.filename,
      options: spec.options ?? {},
      maxConsecutiveErrors: spec.maxConsecutiveErrors ?? DEFAULT_MAX_CONSECUTIVE_ERRORS,
      heartbeatMs: Math.max(10, Math.min(100, cfg.tickTimeoutMs / 4)),
    };
    child.stdin.write(encodeChannelMessage(boot));

    return {
      get pid() {
        return child.pid;
      },
      get startLatencyMs() {
        return firstAt;
      },
      send(msg: HostToEngineMessage): void {
        if (terminated) return;
        if (dead) {
          if (msg.type === 'stop') queueMicrotask(() => deliver({ type: 'stopped' }));
          return;
        }
        child.stdin.write(encodeChannelMessage(msg));
      },
      onMessage(h): void {
        handler = h;
        for (const m of pending.splice(0)) h(m);
      },
      async terminate(): Promise<void> {
        terminated = true;
        if (!dead) child.kill();
        await exited;
      },
    };
}

/**
 * Evaluates a game bundle in a sandbox (`inspect` mode of the runner) and returns its resolved
 * metadata. Shared by the process and docker runtimes.
 * @throws {RuntimeError} `RUNTIME_START_FAILED` with the game's error or a timeout.
 */
export function inspectInSandbox(
  child: SandboxChild,
  bundle: { code: string; filename: string },
  cfg: { startTimeoutMs: number; maxMessageBytes: number; runtime: string },
): Promise<{ metadata: ResolvedGameMetadata; className: string }> {
    return new Promise((resolvePromise, reject) => {
      const decoder = new ChannelDecoder(cfg.maxMessageBytes);
      let stderr = '';
      let done = false;
      const finish = (err: Error | null, value?: { metadata: ResolvedGameMetadata; className: string }): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        child.kill();
        if (err) reject(err);
        else resolvePromise(value!);
      };
      const timer = setTimeout(
        () => finish(new RuntimeError(ServerErrorCode.RUNTIME_START_FAILED, cfg.runtime, `${bundle.filename}: the game did not load within ${cfg.startTimeoutMs} ms`)),
        cfg.startTimeoutMs,
      );
      child.stdout.on('data', (chunk: Buffer) => {
        try {
          for (const m of decoder.push(chunk) as Array<{ type?: string; metadata?: ResolvedGameMetadata; className?: string; message?: string }>) {
            if (m?.type === 'inspected' && m.metadata) finish(null, { metadata: m.metadata, className: String(m.className ?? '') });
            else if (m?.type === 'error') finish(new RuntimeError(ServerErrorCode.RUNTIME_START_FAILED, cfg.runtime, `${bundle.filename}: ${String(m.message)}`));
          }
        } catch (err) {
          finish(new RuntimeError(ServerErrorCode.RUNTIME_START_FAILED, cfg.runtime, `${bundle.filename}: ${(err as Error).message}`));
        }
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (s: string) => {
        if (stderr.length < 8192) stderr += s;
      });
      child.once('close', (code, signal) => {
        const tail = stderr.split('\n').filter((l) => l.trim() && !/ExperimentalWarning|--trace-warnings/.test(l)).slice(-3).join(' | ');
        finish(new RuntimeError(ServerErrorCode.RUNTIME_START_FAILED, cfg.runtime, `${bundle.filename}: the game process exited while loading (${signal ?? `code ${String(code)}`})${tail ? `: ${tail}` : ''}`));
      });
      const boot: RunnerBootMessage = {
        type: 'boot',
        mode: 'inspect',
        code: bundle.code,
        filename: bundle.filename,
        options: {},
        maxConsecutiveErrors: 1,
        heartbeatMs: 1000,
      };
      child.stdin.write(encodeChannelMessage(boot));
    });
  }
