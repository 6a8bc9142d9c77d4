/**
 * A bots run: starts `count` bots spread over the ramp, drives them all from one 25 ms timer (their
 * input, script timers and pings), reports progress, and after `duration` (or once every bot is
 * gone) stops them and builds the report.
 *
 * On a loopback server each bot connects from its own address in 127.77.0.0/16 (unless
 * `oneAddress`): players come from many addresses, and the server's per-address limits (64
 * connections, 10 new rooms a minute) would otherwise refuse a swarm from 127.0.0.1 as one abuser.
 */
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { PlausiblePlayer } from './behaviour.js';
import { Bot } from './bot.js';
import { LatencyHistogram } from './histogram.js';
import { buildReport, type BotsReport } from './report.js';
import { ScriptedPlayer, type BotScript } from './script.js';
import type { BotTarget } from './target.js';

/** Progress of a run, every `progressEveryMs`. */
export interface SwarmProgress {
  elapsedMs: number;
  durationMs: number;
  count: number;
  /** Bots that got `init` so far. */
  joined: number;
  /** Bots joined and still connected. */
  live: number;
  dropped: number;
  /** Refused or timed out. */
  refused: number;
  /** Frames (all bots) per second since the last progress. */
  framesPerSec: number;
  /** Payload bytes (all bots) per second since the last progress. */
  bytesPerSec: number;
}

/** Options of {@link runSwarm}. */
export interface SwarmOptions {
  target: BotTarget;
  /** Bots, 1–5000. */
  count: number;
  /** Length of the run, ms, ramp included. */
  durationMs: number;
  /** Joins are spread evenly over this many ms from the start. */
  rampMs: number;
  /** A loaded `--script`; default the plausible player. */
  script?: BotScript;
  /** Connect every bot from the system's address instead of one loopback address each. */
  oneAddress?: boolean;
  /** No `init` within this many ms: the bot counts as timed out. Default 15 000. */
  joinTimeoutMs?: number;
  progressEveryMs?: number;
  onProgress?: (p: SwarmProgress) => void;
  /** Resolves early (Ctrl-C): the run stops as at its end. */
  interrupted?: Promise<void>;
}

const STEP_MS = 25;

/** The local address of bot `i` on a loopback IPv4 server: 127.77.x.y, one per bot (up to 62 500). */
export function botAddress(i: number): string {
  return `127.77.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/** Runs the bots and returns their report. */
export async function runSwarm(o: SwarmOptions): Promise<BotsReport> {
  const spread = !o.oneAddress && isIP(o.target.hostname) === 4 && o.target.hostname.startsWith('127.');
  const scriptErrors = new Map<string, { where: string; message: string; bots: number }>();
  const onScriptError = (where: string, message: string): void => {
    const key = `${where}\n${message}`;
    const e = scriptErrors.get(key) ?? { where, message, bots: 0 };
    e.bots++;
    scriptErrors.set(key, e);
  };
  const latency = new LatencyHistogram();
  const bots: Bot[] = [];
  for (let i = 0; i < o.count; i++) {
    const behaviour = o.script ? new ScriptedPlayer(o.script, o.count, onScriptError) : new PlausiblePlayer();
    bots.push(new Bot({ index: i, target: o.target, behaviour, localAddress: spread ? botAddress(i) : undefined, joinTimeoutMs: o.joinTimeoutMs, latency }));
  }
  const startAt = performance.now();
  const endAt = startAt + o.durationMs;
  let started = 0;
  let last = { at: startAt, frames: 0, bytes: 0 };
  let nextProgress = startAt + (o.progressEveryMs ?? 1000);
  let interrupted = false;
  void o.interrupted?.then(() => (interrupted = true));

  const progress = (now: number): void => {
    let frames = 0, bytes = 0, joined = 0, live = 0, dropped = 0, refused = 0;
    for (const b of bots) {
      frames += b.frames;
      bytes += b.bytes;
      if (!Number.isNaN(b.joinedAt)) joined++;
      if (b.state === 'joined') live++;
      if (b.state === 'dropped') dropped++;
      if (b.state === 'refused' || b.state === 'timeout') refused++;
    }
    const secs = Math.max(0.001, (now - last.at) / 1000);
    o.onProgress?.({ elapsedMs: now - startAt, durationMs: o.durationMs, count: o.count, joined, live, dropped, refused, framesPerSec: (frames - last.frames) / secs, bytesPerSec: (bytes - last.bytes) / secs });
    last = { at: now, frames, bytes };
  };

  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const due = o.rampMs > 0 ? Math.min(o.count, Math.floor(((now - startAt) / o.rampMs) * o.count) + 1) : o.count;
      while (started < due && now < endAt) bots[started++].connect();
      for (const b of bots) if (b.state === 'joined') b.step(now);
      if (now >= nextProgress) {
        nextProgress = now + (o.progressEveryMs ?? 1000);
        progress(now);
      }
      const allGone = started === o.count && bots.every((b) => !b.live);
      if (now >= endAt || allGone || interrupted) {
        clearInterval(timer);
        progress(now);
        resolve();
      }
    }, STEP_MS);
  });
  const stopAt = performance.now();
  await Promise.all(bots.slice(0, started).map((b) => b.stop()));
  // bots never started (the run ended early) did not take part
  const taking = bots.slice(0, started);
  return buildReport({ target: o.target, bots: taking.length ? taking : bots, durationMs: o.durationMs, rampMs: o.rampMs, startAt, endAt: stopAt, scriptErrors, latency, interrupted });
}
