/**
 * The numbers of a bots run, from its bots: the report (`--json` prints it as is), the final table
 * and the progress line.
 */
import { closeCodeInfo } from '@parlor/squish';
import type { Bot } from './bot.js';
import type { LatencyHistogram } from './histogram.js';
import type { BotTarget } from './target.js';

/** Bots joined for less than this long are left out of the frames/s and bytes/s per client (too short to say). */
export const MIN_WINDOW_MS = 1000;

/** How many bots closed with one code, and when. */
export interface CloseCount {
  /** `refused`: before `init`; `dropped`: after it, before the run's end; `ended`: the room ended (1000) or redirected. */
  phase: 'refused' | 'dropped' | 'ended';
  /** The close code (0 for a join timeout or a redirect). */
  code: number;
  /** Its name (`ROOM_FULL`…), or `TIMEOUT` / `REDIRECT` / `''`. */
  name: string;
  count: number;
  /** One of the reasons given (the server's words, or the connection error). */
  reason: string;
}

/** A run's report. Times in ms, rates per second, sizes in bytes (WebSocket payloads). */
export interface BotsReport {
  target: { playUrl: string; game: string; roomId: string };
  count: number;
  durationMs: number;
  rampMs: number;
  /** Bots per outcome: `joined` got `init`; of those `dropped` lost their socket early, `ended` saw their room end; `refused` closed before `init`; `neverJoined` = refused + timed out. */
  clients: { joined: number; dropped: number; ended: number; refused: number; timedOut: number; neverJoined: number };
  rooms: number;
  closes: CloseCount[];
  /** Frames each joined bot received per second of its time joined: the median bot and the 5th percentile (the slowest 5 %). */
  framesPerSecond: { median: number; p5: number };
  /** Payload bytes received per second: all bots together, and the median bot. */
  bytesPerSecond: { total: number; perClientMedian: number };
  /** From starting to connect to `init`. */
  joinMs: { p50: number; p99: number; samples: number };
  /** From sending an input to the first frame that arrived after it (see the README); percentiles within 1 %. */
  inputToFrameMs: { p50: number; p99: number; samples: number };
  inputsSent: number;
  /** Errors a `--script` threw, once per place, with how many bots hit it. */
  scriptErrors: Array<{ where: string; message: string; bots: number }>;
  /** Stopped before `durationMs` by Ctrl-C (SIGINT) or SIGTERM. */
  interrupted: boolean;
  /** True when every bot joined, none dropped and no script failed (the exit code is 0 then). */
  ok: boolean;
}

/** The `p`-th percentile (0–100, nearest rank) of `values`; `NaN` when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Builds the report once every bot stopped; `endAt` is the run's end (`performance.now()`). */
export function buildReport(o: {
  target: BotTarget; bots: readonly Bot[]; durationMs: number; rampMs: number; startAt: number; endAt: number; latency: LatencyHistogram;
  scriptErrors: Map<string, { where: string; message: string; bots: number }>; interrupted: boolean;
}): BotsReport {
  const { bots } = o;
  const joined = bots.filter((b) => !Number.isNaN(b.joinedAt));
  const count = (s: string): number => bots.filter((b) => b.state === s).length;
  const closes = new Map<string, CloseCount>();
  for (const b of bots) {
    const phase = b.state === 'refused' || b.state === 'timeout' ? 'refused' : b.state === 'dropped' || b.state === 'ended' ? (b.state as 'dropped' | 'ended') : null;
    if (!phase) continue;
    const name = b.state === 'timeout' ? 'TIMEOUT' : b.closeCode === 0 ? 'REDIRECT' : closeCodeInfo(b.closeCode)?.name ?? '';
    const key = `${phase}:${b.closeCode}:${name}`;
    const c = closes.get(key) ?? { phase, code: b.closeCode, name, count: 0, reason: b.closeReason };
    c.count++;
    closes.set(key, c);
  }
  const windows = joined
    .map((b) => ({ b, ms: (Number.isNaN(b.endedAt) ? o.endAt : b.endedAt) - b.joinedAt }))
    .filter((w) => w.ms >= MIN_WINDOW_MS);
  const fps = windows.map((w) => (w.b.frames * 1000) / w.ms);
  const bps = windows.map((w) => (w.b.bytes * 1000) / w.ms);
  const joins = joined.map((b) => b.joinedAt - b.startedAt);
  const runMs = Math.max(1, o.endAt - o.startAt);
  const clients = {
    joined: joined.length, dropped: count('dropped'), ended: count('ended'), refused: count('refused'), timedOut: count('timeout'),
    neverJoined: bots.length - joined.length,
  };
  const scriptErrors = [...o.scriptErrors.values()];
  return {
    target: { playUrl: o.target.playUrl, game: o.target.game, roomId: o.target.roomId },
    count: bots.length,
    durationMs: Math.round(runMs),
    rampMs: o.rampMs,
    clients,
    rooms: new Set(joined.map((b) => b.init?.roomId)).size,
    closes: [...closes.values()].sort((a, b) => b.count - a.count),
    framesPerSecond: { median: r1(percentile(fps, 50)), p5: r1(percentile(fps, 5)) },
    bytesPerSecond: { total: Math.round(bots.reduce((s, b) => s + b.bytes, 0) / (runMs / 1000)), perClientMedian: Math.round(percentile(bps, 50)) },
    joinMs: { p50: r1(percentile(joins, 50)), p99: r1(percentile(joins, 99)), samples: joins.length },
    inputToFrameMs: { p50: r1(o.latency.percentile(50)), p99: r1(o.latency.percentile(99)), samples: o.latency.count },
    inputsSent: bots.reduce((s, b) => s + b.inputs, 0),
    scriptErrors,
    interrupted: o.interrupted,
    ok: clients.neverJoined === 0 && clients.dropped === 0 && scriptErrors.length === 0,
  };
}

/** The final table, for people. */
export function formatReport(r: BotsReport): string {
  const c = r.clients;
  const rows: Array<[string, string]> = [
    ['clients', `${c.joined}/${r.count} joined · ${c.dropped} dropped · ${c.refused} refused · ${c.timedOut} timed out${c.ended ? ` · ${c.ended} saw their room end` : ''} · ${r.rooms} room${r.rooms === 1 ? '' : 's'}`],
    ['frames/s per client', `median ${num(r.framesPerSecond.median)} · p5 ${num(r.framesPerSecond.p5)}`],
    ['bytes/s', `total ${bytes(r.bytesPerSecond.total)}/s · per client (median) ${bytes(r.bytesPerSecond.perClientMedian)}/s`],
    ['join time', `p50 ${ms(r.joinMs.p50)} · p99 ${ms(r.joinMs.p99)}`],
    ['input→frame', `p50 ${ms(r.inputToFrameMs.p50)} · p99 ${ms(r.inputToFrameMs.p99)} (${r.inputToFrameMs.samples} samples, ${r.inputsSent} inputs sent)`],
  ];
  for (const cl of r.closes) rows.push([`${cl.phase} ${cl.code || ''} ${cl.name}`.replace(/\s+/g, ' ').trim(), `${cl.count} bot${cl.count === 1 ? '' : 's'}${cl.reason ? `: ${cl.reason.slice(0, 120)}` : ''}`]);
  for (const e of r.scriptErrors) rows.push(['script error', `${e.where}: ${e.message.slice(0, 160)} (${e.bots} bot${e.bots === 1 ? '' : 's'})`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const head = `parlor bots: ${r.count} bot${r.count === 1 ? '' : 's'} on ${r.target.playUrl} for ${(r.durationMs / 1000).toFixed(1)} s (ramp ${(r.rampMs / 1000).toFixed(1)} s)${r.interrupted ? ', interrupted' : ''}`;
  const verdict = r.ok ? 'ok: every bot joined and stayed' : `FAILED: ${[c.neverJoined ? `${c.neverJoined} never joined` : '', c.dropped ? `${c.dropped} dropped` : '', r.scriptErrors.length ? 'the script threw' : ''].filter(Boolean).join(', ')}`;
  return [head, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`), verdict].join('\n');
}

/** One progress line: elapsed of total, a bar, joined/dropped/refused now, frames/s and bytes/s over the last interval. */
export function progressLine(p: { elapsedMs: number; durationMs: number; count: number; joined: number; live: number; dropped: number; refused: number; framesPerSec: number; bytesPerSec: number }): string {
  const f = Math.max(0, Math.min(1, p.elapsedMs / p.durationMs));
  const bar = '#'.repeat(Math.round(f * 20)).padEnd(20, '-');
  return `[${bar}] ${(p.elapsedMs / 1000).toFixed(0)}/${(p.durationMs / 1000).toFixed(0)} s · joined ${p.joined}/${p.count} (${p.live} live) · dropped ${p.dropped} · refused ${p.refused} · ${num(p.framesPerSec)} frames/s · ${bytes(p.bytesPerSec)}/s`;
}

function r1(v: number): number {
  return Number.isNaN(v) ? NaN : Math.round(v * 10) / 10;
}
function num(v: number): string {
  if (Number.isNaN(v)) return '–';
  return v >= 10_000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(1);
}
function ms(v: number): string {
  return Number.isNaN(v) ? '–' : `${v.toFixed(1)} ms`;
}
function bytes(v: number): string {
  if (Number.isNaN(v)) return '–';
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} MB`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} kB`;
  return `${Math.round(v)} B`;
}
