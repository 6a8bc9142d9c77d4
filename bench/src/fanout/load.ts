/**
 * The fan-out bench's load generator (a child process the bench pins to the other core): N raw
 * `ws` clients joined to one room of the system under test. Neither system's state is decoded:
 * a client completes the handshake its system needs and then only counts what arrives (messages
 * and bytes of state frames), so the client side costs the same for both.
 *
 * - Parlor: `join` (squish wire protocol) to room `fanout-bench` (crowd) or any open room (rooms);
 *   counts every binary message after `init`.
 * - Colyseus 0.16: `POST /matchmake/joinOrCreate/fanout`, the socket at `/<processId>/<roomId>?sessionId=`,
 *   the JOIN_ROOM acknowledgement colyseus.js sends; counts ROOM_STATE_PATCH (15) messages.
 *
 * IPC: `{type:'connect', system, port, n}` → `{type:'connected', joined, failed, joinMs}`;
 * `{type:'start'}` resets the counters; `{type:'stop'}` → `{type:'counts', frames: number[], bytes: number[], closed, cpuUs, wallMs, eldP99Ms}`
 * (this process's own CPU time, wall time and event-loop delay p99 over the window: whether the
 * generator itself keeps up).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION, encodeClientMessage } from '@parlor/squish';
import { currentScene } from './scene.js';

/** Parlor: the crowd shares one named room; small rooms are filled by the server's placement (`roomId: ''`), as Colyseus' joinOrCreate fills them. */
const PARLOR_ROOM = currentScene().name === 'crowd' ? 'fanout-bench' : '';

type System = 'parlor' | 'colyseus';

interface Client {
  ws: WebSocket;
  frames: number;
  bytes: number;
  closed: boolean;
}

const clients: Client[] = [];
const COLYSEUS_JOIN_ROOM = 10;
const COLYSEUS_PATCH = 15;
/** Joins in flight at once. */
const CONCURRENCY = 50;

function openParlor(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/parlor/ws`, { perMessageDeflate: false });
    const c: Client = { ws, frames: 0, bytes: 0, closed: false };
    let joined = false;
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      ws.send(
        encodeClientMessage({ type: 'join', protocolVersion: PROTOCOL_VERSION, game: 'fanout', roomId: PARLOR_ROOM, spectate: false, reconnectToken: '', ticket: '', name: '', clientInfo: 'fanout-bench' }),
      );
    });
    ws.on('message', (data: Buffer) => {
      if (!joined) {
        joined = true;
        resolve(c);
        return;
      }
      c.frames++;
      c.bytes += data.length;
    });
    ws.on('close', (code) => {
      c.closed = true;
      if (!joined) reject(new Error(`parlor refused the join: close ${code}`));
    });
    ws.on('error', (err) => {
      if (!joined) reject(err);
    });
  });
}

async function openColyseus(port: number): Promise<Client> {
  const res = await fetch(`http://127.0.0.1:${port}/matchmake/joinOrCreate/fanout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: '{}',
  });
  const seat = (await res.json()) as { sessionId: string; room: { roomId: string; processId: string }; error?: string };
  if (!res.ok || seat.error) throw new Error(`colyseus refused the join: ${res.status} ${seat.error ?? ''}`);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/${seat.room.processId}/${seat.room.roomId}?sessionId=${seat.sessionId}`, { perMessageDeflate: false });
    const c: Client = { ws, frames: 0, bytes: 0, closed: false };
    let joined = false;
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer) => {
      if (data[0] === COLYSEUS_JOIN_ROOM && !joined) {
        joined = true;
        ws.send(Buffer.from([COLYSEUS_JOIN_ROOM]));
        resolve(c);
      } else if (data[0] === COLYSEUS_PATCH) {
        c.frames++;
        c.bytes += data.length;
      }
    });
    ws.on('close', (code) => {
      c.closed = true;
      if (!joined) reject(new Error(`colyseus closed the socket: ${code}`));
    });
    ws.on('error', (err) => {
      if (!joined) reject(err);
    });
  });
}

async function connect(system: System, port: number, n: number): Promise<{ joined: number; failed: number; joinMs: number; firstError?: string }> {
  const t0 = performance.now();
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      try {
        clients.push(await (system === 'parlor' ? openParlor(port) : openColyseus(port)));
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
  return { joined: clients.length, failed, joinMs: performance.now() - t0, firstError };
}

const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();
let cpu0 = process.cpuUsage();
let t0 = performance.now();

process.on('message', (m: { type: string; system?: System; port?: number; n?: number }) => {
  if (m.type === 'connect') {
    void connect(m.system!, m.port!, m.n!).then((r) => process.send!({ type: 'connected', ...r }));
  } else if (m.type === 'start') {
    for (const c of clients) {
      c.frames = 0;
      c.bytes = 0;
    }
    eld.reset();
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    process.send!({ type: 'started' });
  } else if (m.type === 'stop') {
    const cpu = process.cpuUsage(cpu0);
    process.send!({
      type: 'counts',
      frames: clients.map((c) => c.frames),
      bytes: clients.map((c) => c.bytes),
      closed: clients.filter((c) => c.closed).length,
      cpuUs: cpu.user + cpu.system,
      wallMs: performance.now() - t0,
      eldP99Ms: eld.percentile(99) / 1e6,
    });
  } else if (m.type === 'exit') {
    for (const c of clients) c.ws.terminate();
    process.exit(0);
  }
});
process.send!({ type: 'ready' });
