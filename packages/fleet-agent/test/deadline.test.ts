// Commands carry their session and deadline: the agent never runs one read after its deadline or
// from another session, and says so in the ack (a hand-driven orchestrator on a real socket).
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { FLEET_SUBPROTOCOL, FleetAckCode, FleetAgent, decodeFrame, encodeFrame, type FleetFrame, type HostRoom } from '../src/index.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/**
 * An orchestrator whose monotonic clock is `skewMs` ahead of ours (another process's
 * `performance.now()` has another origin): it welcomes with session `s-1`, and `cmd()` sends a
 * command stamped `agoMs` in its past with the given lifetime.
 */
async function orchestrator(skewMs: number) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (p) => (p.has(FLEET_SUBPROTOCOL) ? FLEET_SUBPROTOCOL : false) });
  cleanups.push(() => new Promise((r) => wss.close(r)));
  await new Promise((r) => wss.once('listening', r));
  const clock = (): number => performance.now() + skewMs;
  let sock: WebSocket | null = null;
  const acks: Array<Extract<FleetFrame, { t: 'ack' }>> = [];
  wss.on('connection', (ws) => {
    sock = ws;
    ws.on('message', (d: Buffer) => {
      const f = decodeFrame(d)!.frame;
      if (f.t === 'hello') ws.send(encodeFrame({ t: 'welcome', instanceId: 'i-1', pollMs: 1000, session: 's-1', now: clock() }));
      if (f.t === 'ack') acks.push(f);
    });
  });
  let id = 0;
  const cmd = async (roomId: string, o: { agoMs: number; expiresInMs: number; session?: string }) => {
    const n = ++id;
    sock!.send(encodeFrame({ t: 'cmd', id: n, op: 'createRoom', type: 'pong', roomId, session: o.session ?? 's-1', now: clock() - o.agoMs, expiresInMs: o.expiresInMs }));
    await new Promise<void>((resolve) => {
      const t = setInterval(() => acks.some((a) => a.id === n) && (clearInterval(t), resolve()), 5);
    });
    return acks.find((a) => a.id === n)!;
  };
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, cmd };
}

describe('command deadlines', () => {
  it.each([0, 5_000_000, -5_000_000])('refuses expired and foreign-session commands without running them, runs live ones (orchestrator clock skew %i ms)', async (skew) => {
    const orch = await orchestrator(skew);
    const rooms: HostRoom[] = [];
    const created: string[] = [];
    const agent = new FleetAgent(
      {
        listRooms: () => rooms,
        roomTypes: () => ['pong'],
        createRoom: (type, roomId) => void (created.push(roomId), rooms.push({ roomId, type, clientCount: 0 })),
        destroyRoom: () => undefined,
      },
      { url: orch.url, key: 'k', endpointUrl: 'http://127.0.0.1:2', logger: pino({ level: 'silent' }) },
    );
    cleanups.push(() => agent.disconnect());
    await agent.connect({ connectTimeoutMs: 2000 });
    // sent 2 s ago (it sat in a buffer) with a 1 s lifetime: expired
    expect(await orch.cmd('late', { agoMs: 2000, expiresInMs: 1000 })).toMatchObject({ ok: false, error: { code: FleetAckCode.COMMAND_EXPIRED } });
    // a command of an earlier (evicted, replaced) session
    expect(await orch.cmd('foreign', { agoMs: 0, expiresInMs: 5000, session: 's-0' })).toMatchObject({ ok: false, error: { code: FleetAckCode.STALE_SESSION } });
    // within its deadline: runs
    expect(await orch.cmd('fresh', { agoMs: 100, expiresInMs: 5000 })).toMatchObject({ ok: true, room: { roomId: 'fresh', provenance: 'fleet' } });
    expect(created).toEqual(['fresh']);
  });
});
