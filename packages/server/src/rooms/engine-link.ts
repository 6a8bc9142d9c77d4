/**
 * A room's link to its engine: the runtime channel of the engine running now, and the engines
 * being replaced (restart, patch) or stopped. Only the current engine's messages reach the room;
 * a replaced engine is asked to stop (up to 2 s) and terminated, and its `stopped` is expected,
 * not a failure. What an (untrusted) engine reports as a game's result is bounded here too.
 */
import type { GameResult } from '@parlor/squish';
import type { EngineToHostMessage, HostToEngineMessage } from '../engine/messages.js';
import type { Logger } from '../logger.js';
import type { RoomChannel, RoomRuntime, RoomSpec } from '../runtime/runtime.js';

/** How long stopping an engine waits for its `stopped` before terminating it (ms). */
const STOP_TIMEOUT_MS = 2000;

/** What an {@link EngineLink} tells its room. */
export interface EngineLinkHost {
  readonly log: Logger;
  readonly runtime: RoomRuntime;
  /** A message of the current engine (`stopped` excepted). */
  engineMessage(msg: Exclude<EngineToHostMessage, { type: 'stopped' }>): void;
  /** The current engine stopped by itself (nobody asked it to). */
  engineStopped(): void;
  /** Handling an engine message threw on the host. */
  hostError(err: unknown): void;
}

/** One room's engine channel(s): see the file's opening comment. */
export class EngineLink {
  private channel: RoomChannel;
  /** Channels being stopped, with the resolver of their `stopped`. */
  private readonly stopping = new Map<RoomChannel, () => void>();
  /** Channels whose engine stopped (nothing to wait for). */
  private readonly dead = new WeakSet<RoomChannel>();
  /** End engines at once, without asking them to stop (one misbehaved). */
  kill = false;

  /** @throws whatever the runtime throws when it cannot start the engine. */
  constructor(
    private readonly host: EngineLinkHost,
    spec: RoomSpec,
  ) {
    this.channel = this.start(spec);
  }

  /** Whether the current engine has stopped. */
  get isDead(): boolean {
    return this.dead.has(this.channel);
  }

  /** Sends a message to the current engine. */
  send(msg: HostToEngineMessage): void {
    this.channel.send(msg);
  }

  /**
   * Stops the current engine and starts one from `spec` (the room's members must be joined to it
   * again by the caller). @throws whatever the runtime throws (the room is then without an engine).
   */
  async replace(spec: RoomSpec): Promise<void> {
    await this.stop(this.channel);
    this.channel = this.start(spec);
  }

  /** Stops the current engine (up to 2 s, unless it already stopped or {@link kill}), then terminates it. */
  stopCurrent(): Promise<void> {
    return this.stop(this.channel);
  }

  private start(spec: RoomSpec): RoomChannel {
    const ch = this.host.runtime.start(spec);
    ch.onMessage((msg) => {
      // Last resort: whatever throws while handling this room's engine ends this room only.
      try {
        this.route(ch, msg);
      } catch (err) {
        this.host.hostError(err);
      }
    });
    return ch;
  }

  private route(ch: RoomChannel, msg: EngineToHostMessage): void {
    if (msg.type === 'stopped') {
      this.dead.add(ch);
      const waiting = this.stopping.get(ch);
      if (waiting) waiting();
      else if (ch === this.channel) this.host.engineStopped();
      return;
    }
    // an engine being replaced or stopped: only its `stopped` matters
    if (ch === this.channel && !this.stopping.has(ch)) this.host.engineMessage(msg);
  }

  private async stop(ch: RoomChannel): Promise<void> {
    if (!this.dead.has(ch) && !this.kill) {
      const stopped = new Promise<void>((resolve) => this.stopping.set(ch, resolve));
      ch.send({ type: 'stop' });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, STOP_TIMEOUT_MS);
        timer.unref?.();
      });
      await Promise.race([stopped, timeout]);
      clearTimeout(timer);
      this.stopping.delete(ch);
    }
    this.dead.add(ch);
    await ch.terminate();
  }
}

/** A game's result from an (untrusted) engine message, bounded: 64 winners, 256 scores, strings of 256 (summary 500). */
export function gameResult(raw: unknown): GameResult {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<Record<keyof GameResult, unknown>>;
  const winners = Array.isArray(r.winners) ? r.winners.filter((w): w is string => typeof w === 'string').slice(0, 64).map((w) => w.slice(0, 256)) : [];
  const scores: Record<string, number> = {};
  if (typeof r.scores === 'object' && r.scores !== null) {
    for (const [k, v] of Object.entries(r.scores).slice(0, 256)) if (typeof v === 'number' && Number.isFinite(v)) scores[k.slice(0, 256)] = v;
  }
  return { winners, scores, summary: typeof r.summary === 'string' ? r.summary.slice(0, 500) : '' };
}
