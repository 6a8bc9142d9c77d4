/**
 * The SSE feed carries the hosts' typed room events (`room:event`) and the operation log's
 * finished operations (`operation:finished`), numbered and replayed with `Last-Event-ID` like the
 * read model's events. The events are injected through the orchestrator's public emitter (what
 * the agent hub and the operation runner emit them on), over a real socket.
 */
import type { Operation, RoomEvent } from '@parlor/squish';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetClient, type FleetEvent } from '../src/index.js';
import { ADMIN_KEY, startOrchestrator, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Sse {
  id?: string;
  event: string;
  data: any;
}

function parseSse(text: string): Sse[] {
  const out: Sse[] = [];
  for (const block of text.split('\n\n')) {
    let id: string | undefined;
    let event: string | undefined;
    let data: string | undefined;
    for (const line of block.split('\n')) {
      if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data = line.slice(6);
    }
    if (event && data !== undefined) out.push({ id, event, data: JSON.parse(data) });
  }
  return out;
}

async function openStream(url: string, lastEventId?: string): Promise<{ events: () => Sse[]; close: () => void }> {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };
  if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
  const res = await request(`${url}/v1/events`, { headers });
  expect(res.statusCode).toBe(200);
  let text = '';
  res.body.on('data', (c: Buffer) => (text += c.toString()));
  res.body.on('error', () => undefined);
  const close = (): void => void res.body.destroy();
  cleanups.push(close);
  return { events: () => parseSse(text), close };
}

const operation = (id: string, state: Operation['state']): Operation => ({
  id,
  roomId: 'r1',
  op: 'pause',
  source: 'admin',
  state,
  params: { reason: 'maintenance' },
  game: 'galaxy',
  version: '1.0.0',
  instanceId: 'i-000000000001',
  actor: 'fp:1a2b3c4d',
  errorCode: null,
  errorMessage: null,
  createdAt: 1,
  updatedAt: 2,
});

describe('room events and finished operations on the SSE stream', () => {
  it('are forwarded with ids, and a consumer coming back with Last-Event-ID gets exactly the ones it missed', async () => {
    const { orch } = await startOrchestrator();
    cleanups.push(() => orch.shutdown());

    const first = await openStream(orch.url);
    await waitFor(() => first.events().some((e) => e.event === 'sync'), 'sync');
    const turn: RoomEvent = { kind: 'turn.ready', roomId: 'r1', game: 'galaxy', turn: 4, at: 10 };
    orch.emit('room:event', { instanceId: 'i-000000000001', event: turn });
    await waitFor(() => first.events().length === 2, 'live room event');
    const live = first.events()[1];
    expect(live).toMatchObject({ event: 'room:event', data: { instanceId: 'i-000000000001', event: turn } });
    first.close();

    // missed while away
    const paused: RoomEvent = { kind: 'room.paused', roomId: 'r1', game: 'galaxy', turn: 4, reason: 'paused by admin', at: 11 };
    orch.emit('room:event', { instanceId: 'i-000000000001', event: paused });
    orch.emit('operation:finished', { operation: operation('op-1', 'succeeded') });

    const resumed = await openStream(orch.url, live.id);
    await waitFor(() => resumed.events().length === 2, 'replay');
    expect(resumed.events().map((e) => e.event)).toEqual(['room:event', 'operation:finished']);
    expect(resumed.events()[0].data.event).toEqual(paused);
    expect(resumed.events()[1].data.operation).toEqual(operation('op-1', 'succeeded'));
    const [a, b] = resumed.events().map((e) => Number(e.id!.split('-')[1]));
    expect(b).toBe(a + 1);
    expect(a).toBe(Number(live.id!.split('-')[1]) + 1);
  });

  it('reach a FleetClient consumer by name', async () => {
    const { orch } = await startOrchestrator();
    cleanups.push(() => orch.shutdown());
    const client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY });
    cleanups.push(() => client.close());
    const seen: FleetEvent[] = [];
    const stream = client.events((e) => seen.push(e));
    cleanups.push(() => stream.close());
    await waitFor(() => seen.some((e) => e.name === 'sync'), 'sync');
    orch.emit('operation:finished', { operation: operation('op-2', 'failed') });
    await waitFor(() => seen.some((e) => e.name === 'operation:finished'), 'operation:finished');
    expect((seen.find((e) => e.name === 'operation:finished')!.data as { operation: Operation }).operation.id).toBe('op-2');
  });
});
