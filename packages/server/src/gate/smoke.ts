/**
 * The gate's smoke run ({@link smokeRun}): the game runs in the sandbox for a few seconds while
 * synthetic players that look like people (see `bots.ts`) join, play and leave; then the run is
 * judged: game errors and sandbox crashes, no frames, p99 tick time over the tick interval, a
 * tick rate far from `tickRate` (stalled or tampered loop), a flood of frame bytes.
 */
import { Game, type GameClass, type Node, type ResolvedGameMetadata } from '@parlor/squish';
import { mapStack, type SourceLocation } from '../dev/locate.js';
import type { EngineToHostMessage } from '../engine/messages.js';
import type { Logger } from '../logger.js';
import type { RoomChannel, RoomRuntime } from '../runtime/runtime.js';
import { SmokePlayer, joinSchedule, plausibleName, plausibleRoomId } from './bots.js';
import { describeUntrusted, errorText, ownData, stringOr, truncate } from './describe.js';
import type { GateFinding, SmokeResult } from './report.js';
import { settle } from '../runtime/settle.js';

/** What the smoke run needs: the bundle and its metadata, the run's length and players, where findings point and go. */
export interface SmokeSpec {
  bundle: { code: string; filename: string };
  baseDir: string;
  metadata: ResolvedGameMetadata;
  durationMs: number;
  startTimeoutMs: number;
  wantPlayers: number;
  entry: string;
  where: { line: number; column: number };
  gameName: string;
  findings: GateFinding[];
  logger: Logger;
}

/** Most tick samples kept (a flood of frames cannot grow the gate's memory without bound). */
const MAX_TICK_SAMPLES = 100_000;
/** A smoke run with fewer ticks than this fraction of `tickRate × time` FAILS (`smoke-tick-rate`): the loop stalls. Generous, for busy machines. */
const MIN_TICK_RATE_FRACTION = 0.3;
/** … and one with more than this factor (plus 10) FAILS too: the engine's timers were tampered with. */
const MAX_TICK_RATE_FACTOR = 1.5;
/** Frame bytes per second (averaged over the run) above which a game FAILS as a flood (`smoke-flood`). */
const MAX_FRAME_BYTES_PER_SECOND = 4 * 1024 * 1024;
/** Most distinct game errors reported as findings. */
const MAX_SMOKE_ERRORS = 20;

/** The stand-in class a sandboxed runtime's spec carries (the game only ever runs in the sandbox). */
function standInClass(metadata: ResolvedGameMetadata): GameClass {
  class SandboxedGame extends Game {
    static override metadata(): ResolvedGameMetadata {
      return metadata;
    }
    constructor() {
      super();
      throw new Error('the gate runs games in a sandbox only');
    }
    getLayers(): Node[] {
      return [];
    }
  }
  return SandboxedGame;
}

/**
 * Runs the game in `runtime` for `s.durationMs` from its first frame with synthetic players and
 * judges the run; findings are appended to `s.findings`. Never throws for anything the game does.
 */
export async function smokeRun(runtime: RoomRuntime, s: SmokeSpec): Promise<SmokeResult> {
  const { metadata, durationMs, entry, where, findings } = s;
  const players = Math.max(1, Math.min(s.wantPlayers, metadata.maxPlayers));
  const tickMs: number[] = [];
  const tickAt: number[] = [];
  let ticks = 0;
  let framesToPlayers = 0;
  let frameBytes = 0;
  let errors = 0;
  let inputs = 0;
  let fatal = false;
  let stopped = false;
  let firstFrameAt = -1;
  const seen = new Set<string>();
  const locate = (stack: string): SourceLocation => {
    // Stack frames of the bundle point at the entry's name and the bundle's lines: mapped to the author's.
    return mapStack(stack, s.bundle).at ?? { file: entry, ...where };
  };
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  let room: RoomChannel;
  try {
    room = runtime.start({
      roomId: plausibleRoomId(),
      game: s.gameName,
      gameClass: standInClass(metadata),
      bundle: s.bundle,
      baseDir: s.baseDir,
      logger: s.logger,
      maxConsecutiveErrors: 50,
    });
  } catch (err) {
    findings.push({ severity: 'error', rule: 'smoke-crash', message: `the runtime could not start the game: ${errorText(err)}`, file: entry, ...where });
    return { runtime: runtime.name, startMs: null, durationMs: 0, players, inputsSent: 0, ticks: 0, framesToPlayers: 0, frameBytes: 0, p99TickMs: 0, maxTickMs: 0, tickBudgetMs: Number((1000 / metadata.tickRate).toFixed(3)), errors: 1 };
  }
  const onMessage = (msg: EngineToHostMessage): void => {
    const type = ownData(msg, 'type');
    if (type === 'frames') {
      ticks++;
      if (firstFrameAt < 0) firstFrameAt = elapsed();
      const t = ownData(msg, 'tickMs');
      const sends = ownData(msg, 'sends');
      if (tickMs.length < MAX_TICK_SAMPLES && typeof t === 'number' && Number.isFinite(t)) {
        tickMs.push(t);
        tickAt.push(elapsed());
      }
      if (Array.isArray(sends)) framesToPlayers += sends.length;
      const parts = ownData(msg, 'parts');
      if (Array.isArray(parts)) for (const p of parts) if (p instanceof Uint8Array) frameBytes += p.byteLength;
    } else if (type === 'error') {
      errors++;
      if (ownData(msg, 'fatal') === true) fatal = true;
      const whereText = stringOr(ownData(msg, 'where'), 'unknown', 64);
      const raw = ownData(msg, 'message');
      const message = typeof raw === 'string' ? truncate(raw, 1000) : `an error whose message is ${describeUntrusted(raw)}`;
      const stack = stringOr(ownData(msg, 'stack'), '', 8000);
      const key = `${whereText}:${message}`;
      if (seen.has(key) || seen.size >= MAX_SMOKE_ERRORS) return;
      seen.add(key);
      const rule = whereText === 'watchdog' || whereText === 'process' || whereText === 'channel' ? 'smoke-crash' : 'smoke-error';
      findings.push({ severity: 'error', rule, message: `${whereText}: ${message}`, ...locate(stack) });
    } else if (type === 'stopped') {
      stopped = true;
    }
  };
  room.onMessage((msg) => {
    try {
      onMessage(msg);
    } catch {
      // nothing the game sends may break the gate
    }
  });

  // Players arrive like people: the first at once (the server starts a room on its first
  // join), the others spread out after the game is up; a watcher now and then. Nobody acts
  // before the first frame (there is nothing to see), as a real client does.
  const joinAt = joinSchedule(players, Math.min(1500, durationMs / 3));
  const names = new Set<string>();
  const bots: Array<{ id: number; at: number; name: string; joined: boolean; player: SmokePlayer | null }> = joinAt.map((at, i) => {
    const name = plausibleName(i + 1, names);
    names.add(name);
    return { id: i + 1, at, name, joined: false, player: null };
  });
  const watcher = Math.random() < 0.5 ? { id: players + 1, at: Math.min(durationMs / 2, 400 + Math.random() * 1500), joined: false } : null;
  const send = (msg: Parameters<RoomChannel['send']>[0]): void => {
    try {
      room.send(msg);
    } catch {
      // a dead room: its end is reported through onMessage
    }
  };

  // The run lasts durationMs from the game's first frame, so a slow start (a container booting
  // on a busy machine) does not shorten it; a game that never sends a frame is given up on after
  // the start timeout.
  const over = (now: number): boolean => (firstFrameAt >= 0 ? now - firstFrameAt >= durationMs : now >= s.startTimeoutMs + 2000);
  while (!stopped && !over(elapsed())) {
    const now = elapsed();
    const live = firstFrameAt >= 0;
    for (const b of bots) {
      const due = b.id === 1 ? 0 : live ? firstFrameAt + b.at : Infinity;
      if (!b.joined && now >= due) {
        b.joined = true;
        send({ type: 'join', playerId: b.id, name: b.name, spectator: false });
      }
      if (b.joined && live) {
        b.player ??= new SmokePlayer(now);
        for (const event of b.player.step(now)) {
          send({ type: 'input', playerId: b.id, event });
          inputs++;
        }
      }
    }
    if (watcher && !watcher.joined && live && now >= firstFrameAt + watcher.at) {
      watcher.joined = true;
      send({ type: 'join', playerId: watcher.id, name: plausibleName(watcher.id, names), spectator: true });
    }
    await new Promise((r) => setTimeout(r, 8 + Math.random() * 8));
  }
  const endAt = elapsed();
  const ticksAtEnd = ticks;
  // The last player to arrive leaves first, as people do at the end of a game.
  const leaver = bots[bots.length - 1];
  if (leaver.player && !stopped) {
    for (const event of leaver.player.release()) send({ type: 'input', playerId: leaver.id, event });
    send({ type: 'leave', playerId: leaver.id });
    await new Promise((r) => setTimeout(r, 100));
  }
  await settle(room.terminate(), 10_000);

  // The first 500 ms after the first frame are warm-up (JIT, first full frames): judge the budget
  // on the rest; in a run too short for that, on all but the first 5 ticks; with fewer than 10
  // samples, not at all (one slow tick on a busy machine is not a verdict).
  const warmFrom = (firstFrameAt < 0 ? 0 : firstFrameAt) + 500;
  const warm = tickMs.filter((_, i) => tickAt[i] >= warmFrom);
  const judged = warm.length >= 10 ? warm : tickMs.length > 15 ? tickMs.slice(5) : tickMs.slice(1);
  const sorted = [...judged].sort((a, b) => a - b);
  const p99 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] : 0;
  const budget = 1000 / metadata.tickRate;
  if (!fatal && framesToPlayers === 0) {
    findings.push({ severity: 'error', rule: 'smoke-no-frames', message: `no frames reached the ${players} synthetic player(s) in ${Math.round(endAt)} ms`, file: entry, ...where });
  }
  // The tick rate itself: a game whose loop stalls (timers swallowed, CPU burnt between ticks) or
  // runs faster than its rate (timers replaced to flood the channel) is visible here.
  const expectedTicks = firstFrameAt < 0 ? 0 : Math.floor(((endAt - firstFrameAt) * metadata.tickRate) / 1000);
  if (!fatal && expectedTicks >= 10 && ticksAtEnd < expectedTicks * MIN_TICK_RATE_FRACTION) {
    findings.push({
      severity: 'error',
      rule: 'smoke-tick-rate',
      message: `the game ticked ${ticksAtEnd} times in ${Math.round(endAt - firstFrameAt)} ms at ${metadata.tickRate} Hz (expected about ${expectedTicks}): its tick loop stalls`,
      file: entry,
      ...where,
    });
  } else if (expectedTicks >= 10 && ticksAtEnd > expectedTicks * MAX_TICK_RATE_FACTOR + 10) {
    findings.push({
      severity: 'error',
      rule: 'smoke-tick-rate',
      message: `the game ticked ${ticksAtEnd} times in ${Math.round(endAt - firstFrameAt)} ms at ${metadata.tickRate} Hz (expected about ${expectedTicks}): it runs faster than its tick rate`,
      file: entry,
      ...where,
    });
  }
  const bytesPerSecond = endAt > 0 ? (frameBytes * 1000) / endAt : 0;
  if (bytesPerSecond > MAX_FRAME_BYTES_PER_SECOND) {
    findings.push({
      severity: 'error',
      rule: 'smoke-flood',
      message: `the game sent ${(bytesPerSecond / 1048576).toFixed(1)} MiB of frames per second to ${players} player(s) (limit ${MAX_FRAME_BYTES_PER_SECOND / 1048576} MiB/s)`,
      file: entry,
      ...where,
    });
  }
  if (p99 > budget) {
    findings.push({ severity: 'error', rule: 'smoke-tick-budget', message: `p99 tick time ${p99.toFixed(2)} ms exceeds the tick interval ${budget.toFixed(2)} ms`, file: entry, ...where });
  }
  return {
    runtime: runtime.name,
    startMs: firstFrameAt < 0 ? null : Math.round(firstFrameAt),
    durationMs: Math.round(endAt - Math.max(0, firstFrameAt)),
    players,
    inputsSent: inputs,
    ticks,
    framesToPlayers,
    frameBytes,
    p99TickMs: Number(p99.toFixed(3)),
    maxTickMs: Number(tickMs.reduce((m, t) => Math.max(m, t), 0).toFixed(3)),
    tickBudgetMs: Number(budget.toFixed(3)),
    errors,
  };
}
