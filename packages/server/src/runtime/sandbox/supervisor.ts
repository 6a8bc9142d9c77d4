import type { Readable, Writable } from 'node:stream';
import type { EngineToHostMessage, HostToEngineMessage } from '../../engine/messages.js';
import { DEFAULT_MAX_CONSECUTIVE_ERRORS } from '../../engine/room-engine.js';
import type { Logger } from '../../logger.js';
import type { RunnerBootMessage } from '../../runner/protocol.js';
import { ChannelDecoder, ChannelError, encodeChannelMessage } from '../channel.js';
import type { RoomChannel, RoomSpec } from '../runtime.js';
import { EngineExpectations } from './expectations.js';
import { checkEngineMessage, isNum } from './messages.js';

/**
 * The host side of a sandbox (a child process, a container): the supervisor that validates what
 * crosses the channel, runs the watchdog and turns any death of the sandbox into a clean end of
 * that one room. Shared by the `process` and `docker` runtimes.
 *
 * Everything that arrives from a sandbox is hostile input: it is type-checked before use (no
 * `String()`, template literal or property getter on an unchecked value; see messages.ts), capped
 * (`ENGINE_MESSAGE_LIMITS` of engine/messages.ts, {@link SandboxLimits}), and anything wrong ends that room only.
 *
 * Over 400 lines on purpose: `superviseSandbox` is one closure that owns one room's channel state
 * (decoder, rate windows, the room's clock, the watchdog's marks); split, that state would be
 * shared across files. The message checks (messages.ts) and `inspect` (inspect.ts) live apart.
 */

/** A room started by a sandboxed runtime: the channel plus the sandbox's pid. */
export interface SandboxRoomChannel extends RoomChannel {
  /** OS process id of the room process (`undefined` if the spawn failed). */
  readonly pid: number | undefined;
  /** ms from `start()` to the first message of the room process, or `null` before it. */
  readonly startLatencyMs: number | null;
}

/**
 * Per-room limits of a sandbox that the supervisor enforces on the room's own clock (part of
 * `ProcessRuntimeOptions` and `DockerRuntimeOptions`). A room over a limit is ended (its sandbox
 * killed, its players closed with 4500 and a message saying why); other rooms are not affected.
 */
export interface SandboxLimits {
  /**
   * CPU budget of one room, as a fraction of one core averaged over {@link cpuWindowMs}, measured
   * from the kernel's count of the sandbox's CPU time (`SandboxChild.cpuTimeMs`), never from the
   * sandbox's own messages. A room above it for a whole window is ended ("the game used more than
   * 80% of a core for 5 s"). `0` disables the budget. Default 0.8. Needs `cpuTimeMs` (else unused).
   */
  cpuBudget?: number;
  /** Window of {@link cpuBudget}, in ms. Default 5000. */
  cpuWindowMs?: number;
  /**
   * Bytes per second the host reads from one room's channel. Above it the host stops reading
   * (the sandbox blocks on its writes) until the next quarter second; a room throttled without
   * pause for {@link channelFloodMs} is ended. Default 32 MiB.
   */
  maxChannelBytesPerSecond?: number;
  /** Messages per second the host reads from one room's channel (same policy). Default 5000. */
  maxChannelMessagesPerSecond?: number;
  /** How long a room may stay over its channel rate before it is ended, in ms. Default 3000. */
  channelFloodMs?: number;
}

/** Defaults of {@link SandboxLimits}. */
export const DEFAULT_SANDBOX_LIMITS: Readonly<Required<SandboxLimits>> = Object.freeze({
  cpuBudget: 0.8,
  cpuWindowMs: 5000,
  maxChannelBytesPerSecond: 32 * 1024 * 1024,
  maxChannelMessagesPerSecond: 5000,
  channelFloodMs: 3000,
});

/** The {@link SandboxLimits} fields of `options` (for runtimes that pass their options through). */
export function pickSandboxLimits(options: SandboxLimits): SandboxLimits {
  return {
    cpuBudget: options.cpuBudget,
    cpuWindowMs: options.cpuWindowMs,
    maxChannelBytesPerSecond: options.maxChannelBytesPerSecond,
    maxChannelMessagesPerSecond: options.maxChannelMessagesPerSecond,
    channelFloodMs: options.channelFloodMs,
  };
}

const STDERR_LINES_PER_SECOND = 20;
const MAX_STDERR_LINE = 1000;
/** A sandbox silent (no heartbeat) this long while using at least this share of a core is spinning. */
const BUSY_SHARE = 0.1;
/** Throttling window of the channel rate limits (ms). */
const RATE_WINDOW_MS = 250;
/** Longest metadata class name accepted from `inspect`. */
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
  /**
   * Total CPU time (user + system, ms) used so far by the whole sandbox (all its processes), read
   * from the kernel (cgroup `cpuacct`/`cpu.stat`, or `/proc`), never from the sandbox's own
   * messages; `undefined` when not known (yet). Optional: without it the supervisor's CPU budget
   * is off and a silent sandbox is judged by silence alone. Must not throw (the supervisor treats
   * a throw as `undefined`) and must be cheap (called a few times per second per room).
   */
  cpuTimeMs?(): number | undefined;
  /**
   * Why the sandbox ended, in words for players, when the runtime knows better than the exit code
   * and the host did not end it (e.g. docker: "the game exceeded its memory limit (128 MiB)" for a
   * kernel out-of-memory kill). Read when `close` fires; optional.
   */
  readonly exitReason?: string;
}

/** Default of {@link SuperviseConfig.turnTimeoutMs}: how long one turn's generation may keep a sandbox busy (ms). */
export const DEFAULT_TURN_TIMEOUT_MS = 10_000;

/** Limits the supervisor enforces (see {@link ProcessRuntimeOptions} and {@link SandboxLimits}). */
export interface SuperviseConfig extends SandboxLimits {
  logger: Logger;
  maxMessageBytes: number;
  startTimeoutMs: number;
  /**
   * A sandbox that sends no heartbeat for this long (counting only time the host's own event
   * loop was awake) while using CPU is killed ("blocked its tick loop"); one that sends
   * heartbeats but no frame for `max(2 × tickTimeoutMs, 3 ticks)` is killed ("stopped ticking").
   */
  tickTimeoutMs: number;
  /**
   * While a turn-based game generates a turn (a `turn` sent, its `turnResult` not back), its loop
   * may stay busy this long instead of {@link SuperviseConfig.tickTimeoutMs}: generating a turn is
   * one long call by design. The CPU budget still applies. Default {@link DEFAULT_TURN_TIMEOUT_MS}.
   */
  turnTimeoutMs?: number;
  /** Heap cap, for the out-of-memory message (MiB). */
  heapMb: number;
}

/**
 * Runs one room in a sandbox over the length-prefixed msgpack channel: sends `boot` (with
 * `spec.restore` when the room starts from a snapshot), validates every message from the
 * (untrusted) sandbox ({@link checkEngineMessage}; answers must match what the host asked,
 * see expectations.ts), throttles its channel
 * ({@link SandboxLimits}), logs its stderr tagged with the room id, runs the watchdog on the
 * room's own clock, and turns any death of the sandbox into a fatal `error` + `stopped` for the
 * host. Shared by the process and docker runtimes.
 *
 * Watchdog: it measures the host's own event-loop lag (its timer firing late) and discounts it,
 * and decides only after the poll phase has read pending pipe data, so a host stall never kills a
 * room. A silent sandbox is killed when it used CPU during the silence (spinning), or after
 * `max(10 s, 10 × tickTimeoutMs)` of silence in any case; a sandbox over its CPU budget for a
 * whole window is killed. Anything that throws on the host while handling this room's output
 * ends this room only.
 */
export function superviseSandbox(
  child: SandboxChild,
  spec: RoomSpec,
  bundle: { code: string; filename: string },
  cfg: SuperviseConfig,
): SandboxRoomChannel {
  const log = spec.logger ?? cfg.logger.child({ game: spec.game, room: spec.roomId });
  const lim = resolveLimits(cfg);
  const started = performance.now();
  let handler: ((msg: EngineToHostMessage) => void) | null = null;
  const pending: EngineToHostMessage[] = [];
  let dead = false; // the child exited or was killed
  let terminated = false; // terminate() called: deliver nothing more
  let reported = false; // a fatal error was reported to the host
  let stoppedSent = false;
  let firstAt: number | null = null;
  let oom = false;
  let killReason: string | null = null;
  const decoder = new ChannelDecoder(cfg.maxMessageBytes);
  const expectations = new EngineExpectations();

  // ---- the room's clock: host lag and throttling pauses are "lost" time, not the game's.
  const period = Math.max(10, Math.min(100, cfg.tickTimeoutMs / 4));
  const lagSlack = Math.max(20, period / 2);
  let lost = 0;
  let lastFire = started;
  let lastBeat = 0;
  let lostAtBeat = 0;
  let lastFrame = 0;
  let lostAtFrame = 0;
  const tickRate = isNum(spec.tickRate) && spec.tickRate > 0 ? spec.tickRate : 1;
  const frameTimeoutMs = Math.max(2 * cfg.tickTimeoutMs, 3000 / tickRate);
  const turnTimeoutMs = cfg.turnTimeoutMs ?? DEFAULT_TURN_TIMEOUT_MS;
  const unresponsiveMs = Math.max(10_000, 10 * cfg.tickTimeoutMs, turnTimeoutMs);
  // silence episode: CPU mark taken when the silence passed half the tick timeout
  let markAt = -1;
  let markLost = 0;
  let markCpu: number | undefined;

  const cpuNow = (): number | undefined => {
    if (!child.cpuTimeMs) return undefined;
    try {
      const v = child.cpuTimeMs();
      return isNum(v) ? v : undefined;
    } catch {
      return undefined;
    }
  };
  // CPU budget: samples (wall ms, cpu ms) over the last window
  const cpuSampleMs = Math.max(100, lim.cpuWindowMs / 10);
  const cpuT: number[] = [];
  const cpuV: number[] = [];
  let lastCpuSample = -Infinity;

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
  /** Ends this room: kills the sandbox and reports `reason` (once). */
  const kill = (where: string, reason: string): void => {
    if (dead || killReason !== null) return;
    killReason = reason;
    log.warn({ pid: child.pid, where, reason }, 'room process killed');
    try {
      child.kill();
    } catch {
      // already gone
    }
    // a throttled channel is left paused otherwise: read (and drop) the rest, so the child's
    // streams end and its `close` comes
    child.stdout.resume();
    try {
      fail(where, reason);
    } catch (err) {
      log.error({ error: errText(err) }, 'room host error while ending');
    }
  };
  /** Last resort: something threw on the host in this room's path. */
  const internal = (where: string, err: unknown): void => {
    log.error({ where, error: errText(err) }, 'room host error');
    kill(where, 'the host could not handle the game\u2019s output');
  };

  // ---- channel rate limits
  const bytesPerWindow = (lim.maxChannelBytesPerSecond * RATE_WINDOW_MS) / 1000;
  const msgsPerWindow = (lim.maxChannelMessagesPerSecond * RATE_WINDOW_MS) / 1000;
  let windowAt = started;
  let windowBytes = 0;
  let windowMsgs = 0;
  let floodSince = -1; // start of the current run of throttled windows
  let pausedAt = -1;
  let resumeTimer: ReturnType<typeof setTimeout> | null = null;
  const rollWindow = (now: number): void => {
    if (now - windowAt < RATE_WINDOW_MS) return;
    // The last window stayed within the limits, or the channel was quiet for a whole window:
    // the flood (if any) is over.
    if ((windowBytes <= bytesPerWindow && windowMsgs <= msgsPerWindow) || now - windowAt >= 2 * RATE_WINDOW_MS) floodSince = -1;
    windowAt = now;
    windowBytes = 0;
    windowMsgs = 0;
  };
  const resume = (): void => {
    resumeTimer = null;
    if (pausedAt >= 0) {
      lost += performance.now() - pausedAt;
      pausedAt = -1;
    }
    if (!dead && killReason === null) child.stdout.resume();
  };
  const throttle = (now: number): void => {
    if (floodSince < 0) {
      floodSince = windowAt;
      log.debug({ bytes: windowBytes, messages: windowMsgs, windowMs: RATE_WINDOW_MS }, 'room channel throttled');
    }
    if (now - floodSince >= lim.channelFloodMs) {
      kill(
        'channel',
        `the game flooded its channel (more than ${fmtBytes(lim.maxChannelBytesPerSecond)}/s or ${lim.maxChannelMessagesPerSecond} messages/s for ${fmtSeconds(lim.channelFloodMs)})`,
      );
      return;
    }
    if (pausedAt >= 0) return;
    pausedAt = now;
    child.stdout.pause();
    resumeTimer = setTimeout(resume, Math.max(1, windowAt + RATE_WINDOW_MS - now));
  };

  const onData = (chunk: Buffer): void => {
    if (dead || killReason !== null) return;
    let now = performance.now();
    rollWindow(now);
    windowBytes += chunk.length;
    let msgs: unknown[];
    try {
      msgs = decoder.push(chunk);
    } catch (err) {
      if (err instanceof ChannelError && err.reason === 'too_large') kill('channel', `the game sent a frame too large (${err.message})`);
      else kill('channel', 'protocol violation: the game\u2019s channel does not decode');
      return;
    }
    now = performance.now();
    if (firstAt === null && msgs.length) {
      firstAt = now - started;
      log.debug({ pid: child.pid, startMs: Number(firstAt.toFixed(1)) }, 'room process ready');
    }
    windowMsgs += msgs.length;
    for (const m of msgs) {
      if (killReason !== null) return;
      lastBeat = now;
      lostAtBeat = lost;
      markAt = -1;
      const msg = checkEngineMessage(m, cfg.maxMessageBytes);
      if (msg === 'hb') continue;
      if ('violation' in msg) {
        kill('channel', `protocol violation: ${msg.violation}`);
        return;
      }
      const unasked = expectations.check(msg);
      if (unasked !== null) {
        kill('channel', `protocol violation: ${unasked}`);
        return;
      }
      if (msg.type === 'frames') {
        lastFrame = now;
        lostAtFrame = lost;
      }
      deliver(msg);
    }
    if (windowBytes > bytesPerWindow || windowMsgs > msgsPerWindow) throttle(now);
  };
  child.stdout.on('data', (chunk: Buffer) => {
    try {
      onData(chunk);
    } catch (err) {
      internal('channel', err);
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
      if (suppressed) log.warn({ lines: suppressed }, 'game output suppressed');
      windowStart = now;
      linesInWindow = 0;
      suppressed = 0;
    }
    if (linesInWindow++ < STDERR_LINES_PER_SECOND) log.info({ line: line.slice(0, MAX_STDERR_LINE) }, 'game output');
    else suppressed++;
  };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    try {
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
    } catch (err) {
      stderrBuf = '';
      log.error({ where: 'stderr', error: errText(err) }, 'room host error');
    }
  });
  child.stdin.on('error', () => {});

  const decide = (): void => {
    if (dead || terminated || stoppedSent || killReason !== null) return;
    const now = performance.now();
    // CPU budget (wall clock: the sandbox runs whether or not the host is stalled)
    if (lim.cpuBudget > 0 && now - lastCpuSample >= cpuSampleMs) {
      const cpu = cpuNow();
      if (cpu !== undefined) {
        lastCpuSample = now;
        cpuT.push(now);
        cpuV.push(cpu);
        // keep the newest sample that is at least a window old, and everything after it
        while (cpuT.length > 2 && now - cpuT[1] >= lim.cpuWindowMs) {
          cpuT.shift();
          cpuV.shift();
        }
        const span = now - cpuT[0];
        if (span >= lim.cpuWindowMs && (cpu - cpuV[0]) / span > lim.cpuBudget) {
          kill('cpu', `the game used more than ${Math.round(lim.cpuBudget * 100)}% of a core for ${fmtSeconds(lim.cpuWindowMs)}`);
          return;
        }
      }
    }
    if (pausedAt >= 0) {
      // Throttled: the silence is ours. A sandbox whose output piles up on the host side anyway
      // (a container's attach stream does not push back) is flooding.
      if (child.stdout.readableLength > Math.max(4 * cfg.maxMessageBytes, 4 * bytesPerWindow)) {
        kill('channel', `the game flooded its channel (${fmtBytes(child.stdout.readableLength)} unread)`);
      }
      return;
    }
    if (firstAt === null) {
      if (now - started - lost > cfg.startTimeoutMs) kill('watchdog', `the game did not start within ${cfg.startTimeoutMs} ms`);
      return;
    }
    const silent = now - lastBeat - (lost - lostAtBeat);
    // a turn being generated is one long call: it gets the turn's allowance, not a tick's
    const generating = expectations.turnPending;
    const blockLimit = generating ? Math.max(cfg.tickTimeoutMs, turnTimeoutMs) : cfg.tickTimeoutMs;
    if (silent > cfg.tickTimeoutMs / 2 && markAt < 0) {
      markAt = now;
      markLost = lost;
      markCpu = cpuNow();
    } else if (silent > blockLimit && markAt >= 0) {
      const cpu = markCpu === undefined ? undefined : cpuNow();
      const span = now - markAt - (lost - markLost);
      const busy = cpu === undefined || markCpu === undefined || cpu - markCpu >= BUSY_SHARE * span;
      if (busy) {
        kill('watchdog', generating ? `the game's turn generation blocked its loop for more than ${blockLimit} ms` : `the game blocked its tick loop for more than ${cfg.tickTimeoutMs} ms`);
        return;
      }
      if (silent > unresponsiveMs) {
        kill('watchdog', `the game stopped responding for more than ${fmtSeconds(unresponsiveMs)}`);
        return;
      }
    }
    if (lastFrame > 0 || now - started - lost > cfg.startTimeoutMs) {
      const since = lastFrame > 0 ? now - lastFrame - (lost - lostAtFrame) : now - started - lost - cfg.startTimeoutMs;
      if (since > frameTimeoutMs && silent <= cfg.tickTimeoutMs) {
        kill('watchdog', `the game stopped ticking (no frame for ${Math.round(frameTimeoutMs)} ms while its process kept running)`);
      }
    }
  };
  const watchdog = setInterval(() => {
    try {
      const now = performance.now();
      const lag = now - lastFire - period;
      lastFire = now;
      if (lag > lagSlack) lost += lag; // the host's event loop was stalled: not the game's time
      // Decide after the poll phase: what the sandbox wrote during a host stall is read first.
      setImmediate(() => {
        try {
          decide();
        } catch (err) {
          internal('watchdog', err);
        }
      });
    } catch (err) {
      internal('watchdog', err);
    }
  }, period);
  watchdog.unref?.();

  const exited = new Promise<void>((resolveExit) => {
    child.once('close', (code, signal) => {
      dead = true;
      clearInterval(watchdog);
      if (resumeTimer) clearTimeout(resumeTimer);
      try {
        if (stderrBuf.trim()) logLine(stderrBuf.trim());
        stderrBuf = '';
        if (!terminated && !killReason) {
          const why = typeof child.exitReason === 'string'
            ? child.exitReason
            : oom
            ? `the game ran out of memory (heap cap ${cfg.heapMb} MiB)`
            : `the room process exited unexpectedly (${signal ? `signal ${signal}` : `code ${isNum(code) ? code : 'unknown'}`})`;
          if (!stoppedSent) log.warn({ pid: child.pid, code, signal, oom }, 'room process exited');
          fail('process', why);
        }
      } catch (err) {
        log.error({ where: 'close', error: errText(err) }, 'room host error');
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
    heartbeatMs: period,
    ...(spec.restore ? { restore: { snapshot: spec.restore.snapshot, turn: spec.restore.turn, paused: spec.restore.paused } } : {}),
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
      if (dead || killReason !== null) {
        if (msg.type === 'stop') queueMicrotask(() => deliver({ type: 'stopped' }));
        return;
      }
      expectations.sent(msg);
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

function resolveLimits(cfg: SandboxLimits): Required<SandboxLimits> {
  const d = DEFAULT_SANDBOX_LIMITS;
  const pos = (v: number | undefined, dflt: number) => (isNum(v) && v > 0 ? v : dflt);
  return {
    cpuBudget: isNum(cfg.cpuBudget) && cfg.cpuBudget >= 0 ? cfg.cpuBudget : d.cpuBudget,
    cpuWindowMs: pos(cfg.cpuWindowMs, d.cpuWindowMs),
    maxChannelBytesPerSecond: pos(cfg.maxChannelBytesPerSecond, d.maxChannelBytesPerSecond),
    maxChannelMessagesPerSecond: pos(cfg.maxChannelMessagesPerSecond, d.maxChannelMessagesPerSecond),
    channelFloodMs: pos(cfg.channelFloodMs, d.channelFloodMs),
  };
}

/** A host-side error as text (host errors only; never used on values from a sandbox). */
function errText(err: unknown): string {
  return err instanceof Error ? err.message : typeof err === 'string' ? err : 'unknown error';
}

function fmtBytes(n: number): string {
  return n >= 1024 * 1024 ? `${+(n / (1024 * 1024)).toFixed(1)} MiB` : n >= 1024 ? `${+(n / 1024).toFixed(1)} KiB` : `${n} bytes`;
}

function fmtSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${+(ms / 1000).toFixed(1)} s`;
}
