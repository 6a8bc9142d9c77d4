/**
 * End to end through a real fleet agent: a host's typed room events travel as `roomEvent` frames
 * over the agent's WebSocket to the orchestrator, which forwards them on its SSE stream
 * (`room:event`) and turns `turn.ready` / `room.paused` / `room.ended` with a result into signed
 * webhooks at a real local receiver; the same event sent twice by the host notifies once.
 */
import type { RoomEvent } from '@parlor/squish';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetClient, verifyWebhookSignature, type FleetEvent } from '../src/index.js';
import { ADMIN_KEY, startAgent, startOrchestrator, waitFor } from './helpers.js';
import { EventingHost, startReceiver } from './webhook-receiver.js';

const SECRET = 'webhook-secret-0123456789';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('room events from a real agent', () => {
  it('reach the SSE stream and the webhooks (once per fact), signed', async () => {
    const r = await startReceiver();
    cleanups.push(() => r.close());
    const { orch } = await startOrchestrator({ webhooks: [{ url: r.url, secret: SECRET }], webhookDelivery: { concurrencyPerUrl: 1 } });
    cleanups.push(() => orch.shutdown());
    const host = new EventingHost();
    const { agent } = await startAgent(orch, {}, host);
    cleanups.push(() => agent.disconnect());
    const client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY });
    cleanups.push(() => client.close());
    const seen: FleetEvent[] = [];
    const stream = client.events((e) => seen.push(e));
    cleanups.push(() => stream.close());
    await waitFor(() => seen.some((e) => e.name === 'sync'), 'sync');

    host.addLocal('gx', 'pong', 2);
    const turn: RoomEvent = { kind: 'turn.ready', roomId: 'gx', game: 'pong', turn: 3, at: Date.now() };
    host.emitRoomEvent(turn);
    host.emitRoomEvent(turn); // the host says it twice
    host.emitRoomEvent({ kind: 'room.paused', roomId: 'gx', game: 'pong', turn: 3, reason: 'turn 3 generation failed: boom', at: Date.now() });
    host.emitRoomEvent({ kind: 'player.left', roomId: 'gx', game: 'pong', playerId: 1, userId: null, spectator: false, at: Date.now() });
    host.emitRoomEvent({ kind: 'room.ended', roomId: 'gx', game: 'pong', reason: 'finished', result: { winners: ['ann'], scores: { ann: 9 }, summary: 'Ann won' }, at: Date.now() });

    await waitFor(() => r.ok().some((e) => e.body.kind === 'game.finished'), 'the last notification');
    expect(r.ok().map((e) => e.body.kind)).toEqual(['game.turn.ready', 'game.paused', 'game.finished']);
    for (const e of r.ok()) expect(verifyWebhookSignature(SECRET, e.headers, e.raw)).toBe(true);
    expect(r.ok()[0].body.payload).toEqual({ game_id: 'gx', turn: 3 });

    await waitFor(() => seen.filter((e) => e.name === 'room:event').length === 5, 'five room events on the stream');
    const onStream = seen.filter((e) => e.name === 'room:event').map((e) => e.data as { instanceId: string; event: RoomEvent });
    expect(onStream.map((d) => d.event.kind)).toEqual(['turn.ready', 'turn.ready', 'room.paused', 'player.left', 'room.ended']);
    expect(onStream[0]).toEqual({ instanceId: orch.fleet.getInstance(agent.processUid)!.id, event: turn });
  });
});
