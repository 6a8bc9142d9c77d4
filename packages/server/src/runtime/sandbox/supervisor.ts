import type { ResolvedGameMetadata } from '@parlor/squish';
import type { Readable, Writable } from 'node:stream';
import type { EngineToHostMessage, HostToEngineMessage } from '../../engine/messages.js';
import { DEFAULT_MAX_CONSECUTIVE_ERRORS } from '../../engine/session-engine.js';
import { RuntimeError, ServerErrorCode } from '../../errors.js';
import { kv, type Logger } from '../../logger.js';
import type { RunnerBootMessage } from '../../runner/protocol.js';
import { ChannelDecoder, ChannelError, encodeChannelMessage } from '../channel.js';
import type { RuntimeSession, SessionSpec } from '../runtime.js';

/**
 * The host side of a sandbox (a child process, a container): the supervisor that validates what
 * crosses the channel, runs the watchdog and turns any death of the sandbox into a clean end of
 * that one room. Shared by the `process` and `docker` runtimes.
 */

/** A session started by a sandboxed runtime: the channel plus the sandbox's pid. */
export interface ProcessRuntimeSession extends RuntimeSession {
  /** OS process id of the session process (`undefined` if the spawn failed). */
  readonly pid: number | undefined;
  /** ms from `start()` to the first message of the session process, or `null` before it. */
  readonly startLatencyMs: number | null;
}

const STDERR_LINES_PER_SECOND = 20;
const MAX_STDERR_LINE = 1000;

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
