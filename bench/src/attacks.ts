/**
 * Co-tenant frame rate under attack: one well-behaved room (the `ticker` fixture, 30 Hz) keeps a
 * player connected while each hostile game of the test suite (packages/server/test/fixtures/hostile)
 * runs next to it on the same server, one attack at a time. For each attack: the co-tenant's
 * frames per second over the attack window (mean and the worst 500 ms slice, ×2 to give a rate),
 * whether the host still answers `/healthz`, and how the attacking room ended.
 *
 * Used by runtime.bench.ts (its results land in bench/RUNTIME-RESULTS.md).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION, SceneMirror, Text, decodeServerMessage, encodeClientMessage } from '@parlor/squish';
import { createGameServer, createLogger } from '@parlor/server';
import type { RoomRuntime } from '@parlor/server/runtimes';

/** One attack of the hostile suite: a label and its fixture file. */
export interface AttackCase {
  /** Row label, e.g. `'spin (blocked tick)'`. */
  label: string;
  /** Fixture path relative to packages/server/test/fixtures/. */
  fixture: string;
  /** The runtime is expected to end this room: watch it until it ends (at most 15 s), not just the window. */
  ends?: boolean;
}

/** One measured row. */
export interface AttackRow {
  label: string;
  /** Co-tenant frames/s from the attacker's join until its room ended (or the window closed). */
  meanFps: number;
  /** Co-tenant frames/s in its worst 500 ms slice. */
  minFps: number;
  /** `/healthz` answered 200 after the attack. */
  hostAlive: boolean;
  /** The attacking room's end: close code and the error text players got, or `'still running'`. */
  outcome: string;
}

const silent = createLogger({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Player {
  ws: WebSocket;
  frames: number[];
  closed: { code: number; error: string; at: number } | null;
  lastError: string;
  /** The player's view of the scene: hostile games report each attempt as a Text (`<what>: blocked (…)` or `: SUCCEEDED`). */
  mirror: SceneMirror;
}

function join(wsUrl: string, game: string): Promise<Player> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    const p: Player = { ws, frames: [], closed: null, lastError: '', mirror: new SceneMirror() };
    ws.binaryType = 'nodebuffer';
    const timer = setTimeout(() => reject(new Error(`${game}: no first frame within 15 s`)), 15_000);
    ws.on('error', () => {});
    ws.on('open', () =>
      ws.send(
        encodeClientMessage({ type: 'join', protocolVersion: PROTOCOL_VERSION, game, roomId: '', spectate: false, reconnectToken: '', ticket: '', name: '', clientInfo: 'bench' }),
      ),
    );
    ws.on('message', (data: Buffer) => {
      let msg;
      try {
        msg = decodeServerMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } catch {
        return;
      }
      if (msg.type === 'frame') {
        p.frames.push(performance.now());
        try {
          p.mirror.apply(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        } catch {
          // the fps count is what matters; a frame the mirror refuses is counted all the same
        }
        if (p.frames.length === 1) {
          clearTimeout(timer);
          resolve(p);
        }
      } else if (msg.type === 'error') p.lastError = msg.message;
    });
    ws.on('close', (code) => {
      p.closed = { code, error: p.lastError, at: performance.now() };
      clearTimeout(timer);
      resolve(p);
    });
  });
}

function fpsBetween(frames: number[], from: number, to: number): number {
  let n = 0;
  for (const t of frames) if (t >= from && t < to) n++;
  return (n * 1000) / (to - from);
}

/**
 * Runs every attack in `cases` next to a ticker room on one server using `runtime`.
 * @param fixtures absolute path of packages/server/test/fixtures
 * @param windowMs how long each attack is watched (ms)
 */
export async function coTenantUnderAttack(runtime: RoomRuntime, fixtures: string, cases: AttackCase[], windowMs = 3000): Promise<{ baselineFps: number; rows: AttackRow[] }> {
  const present = cases.filter((c) => existsSync(path.join(fixtures, c.fixture)));
  const games: Record<string, string> = { ticker: path.join(fixtures, 'sandbox/ticker.ts') };
  present.forEach((c, i) => (games[`attack-${i}`] = path.join(fixtures, c.fixture)));
  // every room here is created from 127.0.0.1: lift the per-address room rate (default 10/min)
  const server = await createGameServer({ games, runtime, port: 0, host: '127.0.0.1', logger: silent, roomsPerAddressPerMinute: 1_000_000 });
  const rows: AttackRow[] = [];
  try {
    const control = await join(server.wsUrl, 'ticker');
    await sleep(1000);
    const t0 = performance.now();
    await sleep(windowMs);
    const baselineFps = fpsBetween(control.frames, t0, performance.now());
    for (const [i, c] of present.entries()) {
      const start = performance.now();
      let attacker: Player | null = null;
      let outcome = 'still running';
      try {
        attacker = await join(server.wsUrl, `attack-${i}`);
      } catch (err) {
        outcome = `did not start: ${(err as Error).message.slice(0, 80)}`;
      }
      // at least the window; an attack the runtime must end is watched until it ends (at most 15 s)
      const watching = (): boolean => {
        const elapsed = performance.now() - start;
        return elapsed < windowMs || (c.ends === true && attacker !== null && attacker.closed === null && elapsed < 15_000);
      };
      while (watching()) await sleep(50);
      const end = performance.now();
      const slices: number[] = [];
      for (let t = start; t + 500 <= end; t += 500) slices.push(fpsBetween(control.frames, t, t + 500));
      if (attacker?.closed) {
        const why = attacker.closed.error.replace(/^The game failed and the room ended: /, '').replace(/\s+/g, ' ');
        outcome = `${attacker.closed.code} after ${((attacker.closed.at - start) / 1000).toFixed(1)} s: ${why.length > 90 ? `${why.slice(0, 90)}…` : why || '(no message)'}`;
      } else if (attacker) {
        const texts = [...attacker.mirror.nodes.values()].filter((n): n is Text => n instanceof Text).map((t) => t.text);
        const blocked = texts.filter((t) => /: blocked/.test(t)).length;
        const succeeded = texts.filter((t) => /: SUCCEEDED/.test(t)).length;
        if (blocked + succeeded > 0) outcome = `running: ${blocked} attempts blocked, ${succeeded} succeeded`;
      }
      attacker?.ws.close();
      let hostAlive = false;
      try {
        hostAlive = (await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(5000) })).status === 200;
      } catch {
        hostAlive = false;
      }
      rows.push({ label: c.label, meanFps: fpsBetween(control.frames, start, end), minFps: Math.min(...slices), hostAlive: hostAlive && control.closed === null, outcome });
      await sleep(500);
    }
    control.ws.close();
    return { baselineFps, rows };
  } finally {
    await server.close();
  }
}
