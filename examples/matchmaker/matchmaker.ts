/**
 * A small matchmaker on top of the orchestrator's REST API (through FleetClient): players queue
 * from a page; every two players get a fresh room (placed by the orchestrator), two single-use
 * seat tickets, and are sent to the room's join URL.
 *
 * Run (with an orchestrator and at least one `parlor serve --fleet-url …` instance up):
 *   ORCHESTRATOR_URL=http://localhost:7070 PARLOR_ADMIN_KEY=… node --import tsx examples/matchmaker/matchmaker.ts
 * Env: PORT (default 8080), GAME (default pong), HOST (default all interfaces).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FleetClient } from '@parlor/orchestrator';

/** Options of {@link startMatchmaker}. */
export interface MatchmakerOptions {
  /** Orchestrator base URL, e.g. `http://localhost:7070`. */
  orchestratorUrl: string;
  /** An orchestrator admin key. */
  adminKey: string;
  /** Room type (game name) to match for. Default `pong`. */
  game?: string;
  /** Port (0 = any). Default 8080. */
  port?: number;
  host?: string;
  /** How long a queued player waits before the page re-queues (ms). Default 25 000. */
  waitMs?: number;
}

/** A running matchmaker. */
export interface Matchmaker {
  readonly url: string;
  readonly server: Server;
  /** Players waiting now. */
  queued(): number;
  close(): Promise<void>;
}

interface Waiter {
  res: ServerResponse;
  timer: ReturnType<typeof setTimeout>;
}

/** Starts the matchmaker: `GET /` page, `POST /queue` (long poll → `{ url }`), `GET /healthz`. */
export async function startMatchmaker(opts: MatchmakerOptions): Promise<Matchmaker> {
  const game = opts.game ?? 'pong';
  const waitMs = opts.waitMs ?? 25_000;
  const client = new FleetClient({ baseUrl: opts.orchestratorUrl, adminKey: opts.adminKey });
  const queue: Waiter[] = [];

  const reply = (res: ServerResponse, status: number, body: unknown): void => {
    if (res.writableEnded) return;
    const buf = Buffer.from(JSON.stringify(body));
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': buf.byteLength, 'Cache-Control': 'no-store' });
    res.end(buf);
  };

  const match = async (): Promise<void> => {
    while (queue.length >= 2) {
      const pair = queue.splice(0, 2);
      for (const w of pair) clearTimeout(w.timer);
      try {
        const room = await client.createRoom({ type: game, options: { matchedAt: Date.now() } });
        const seats = await client.reserveSeats(room.roomId, { count: 2, ttlMs: 60_000 });
        pair.forEach((w, i) => reply(w.res, 200, { roomId: room.roomId, url: seats.joinUrls[i] }));
        console.log(`[matchmaker] matched 2 players into ${game} room ${room.roomId} on ${room.instanceId}`);
      } catch (err) {
        const e = err as { code?: string; message?: string };
        console.error(`[matchmaker] create failed: ${e.code ?? ''} ${e.message ?? String(err)}`);
        for (const w of pair) reply(w.res, 503, { error: e.code ?? 'FAILED', message: e.message });
      }
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/') {
      const html = page(game);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(html);
      return;
    }
    if (req.method === 'GET' && path === '/healthz') return reply(res, 200, { ok: true, queued: queue.length });
    if (req.method === 'POST' && path === '/queue') {
      req.resume();
      const w: Waiter = {
        res,
        timer: setTimeout(() => {
          const i = queue.indexOf(w);
          if (i >= 0) queue.splice(i, 1);
          reply(res, 408, { error: 'TIMEOUT' });
        }, waitMs),
      };
      res.on('close', () => {
        const i = queue.indexOf(w);
        if (i >= 0) {
          queue.splice(i, 1);
          clearTimeout(w.timer);
        }
      });
      queue.push(w);
      void match();
      return;
    }
    reply(res, 404, { error: 'NOT_FOUND' });
  };

  const server = createServer(onRequest);
  await new Promise<void>((r) => server.listen(opts.port ?? 8080, opts.host, r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://localhost:${port}`,
    server,
    queued: () => queue.length,
    async close() {
      for (const w of queue.splice(0)) {
        clearTimeout(w.timer);
        reply(w.res, 503, { error: 'SHUTTING_DOWN' });
      }
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await client.close();
    },
  };
}

function page(game: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Parlor matchmaker</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{background:#111827;color:#e5e7eb;font:16px/1.5 system-ui,sans-serif;display:grid;place-items:center;min-height:100vh;margin:0}
main{text-align:center}button{font:inherit;font-size:20px;padding:12px 28px;border-radius:8px;border:0;background:#2563eb;color:#fff;cursor:pointer}
button:disabled{background:#374151;cursor:default}#status{margin-top:16px;min-height:1.5em;color:#9ca3af}
</style></head><body><main>
<h1>Parlor matchmaker</h1>
<p>Two players per match: press the button here and in a second window.</p>
<button id="find">Find a ${escapeHtml(game)} match</button>
<p id="status"></p>
</main><script>
const btn = document.getElementById('find'), status = document.getElementById('status');
async function find() {
  btn.disabled = true; status.textContent = 'Waiting for another player…';
  for (;;) {
    let res;
    try { res = await fetch('/queue', { method: 'POST' }); } catch { await new Promise(r => setTimeout(r, 1000)); continue; }
    if (res.status === 408) continue;
    const body = await res.json();
    if (res.ok && body.url) { status.textContent = 'Match found: joining room ' + body.roomId + '…'; location.href = body.url; return; }
    status.textContent = 'Could not create a room (' + (body.error || res.status) + '). Try again.'; btn.disabled = false; return;
  }
}
btn.addEventListener('click', find);
if (new URLSearchParams(location.search).has('auto')) find();
</script></body></html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const orchestratorUrl = process.env.ORCHESTRATOR_URL ?? 'http://localhost:7070';
  const adminKey = process.env.PARLOR_ADMIN_KEY;
  if (!adminKey) {
    console.error('matchmaker: set PARLOR_ADMIN_KEY (an orchestrator admin key)');
    process.exit(1);
  }
  const mm = await startMatchmaker({ orchestratorUrl, adminKey, game: process.env.GAME, port: Number(process.env.PORT ?? 8080), host: process.env.HOST });
  console.log(`\n  Parlor matchmaker: ${mm.url}/  (orchestrator ${orchestratorUrl})\n`);
  const stop = () => void mm.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
