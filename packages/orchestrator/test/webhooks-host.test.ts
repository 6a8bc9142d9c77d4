/**
 * Webhooks from a real game server: a turn-based room on a real GameServer, its fleet agent
 * connected to a real orchestrator whose webhook is a real local receiver. A forced turn through
 * REST generates the turn on the host, whose `turn.ready` travels over the agent's socket and
 * comes out as a signed `game.turn.ready`; a pause with a reason comes out as `game.paused`.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createFleetHost, createGameServer } from '@parlor/server';
import { FleetAgent } from '@parlor/fleet-agent';
import { FleetClient, verifyWebhookSignature } from '../src/index.js';
import { ADMIN_KEY, AGENT_KEY, captureLogger, quietAgentLogger, startOrchestrator, waitFor } from './helpers.js';
import { startReceiver } from './webhook-receiver.js';

const GAME = fileURLToPath(new URL('./fixtures/lifecycle-game', import.meta.url));
const SECRET = 'webhook-secret-0123456789';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('webhooks from a real game server', () => {
  it('a forced turn notifies game.turn.ready and a pause game.paused, signed, once each', async () => {
    const r = await startReceiver();
    cleanups.push(() => r.close());
    const { orch } = await startOrchestrator({ webhooks: [{ url: r.url, secret: SECRET }], webhookDelivery: { concurrencyPerUrl: 1 }, commandTimeoutMs: 10_000 });
    cleanups.push(() => orch.shutdown());
    const server = await createGameServer({ games: { adder: GAME }, port: 0, host: '127.0.0.1', logger: captureLogger().logger });
    cleanups.push(() => server.close());
    const agent = new FleetAgent(createFleetHost(server), { url: orch.agentUrl, key: AGENT_KEY, endpointUrl: server.url, name: 'host', logger: quietAgentLogger });
    cleanups.push(() => agent.disconnect());
    await agent.connect({ connectTimeoutMs: 5000 });
    await waitFor(() => orch.fleet.instances.some((i) => i.roomTypes.includes('adder')), 'the host in the fleet');
    const client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY });
    cleanups.push(() => client.close());

    const room = await client.createRoom({ type: 'adder' });
    expect((await client.forceTurn(room.roomId)).state).toMatchObject({ status: 'running', turn: 2 });
    await waitFor(() => r.ok().some((e) => e.body.kind === 'game.turn.ready'), 'game.turn.ready', 10_000);
    const turn = r.ok().find((e) => e.body.kind === 'game.turn.ready')!;
    expect(turn.body).toMatchObject({ idempotencyKey: `turn-ready:${room.roomId}:2`, payload: { game_id: room.roomId, turn: 2 } });
    expect(verifyWebhookSignature(SECRET, turn.headers, turn.raw)).toBe(true);

    await client.pauseRoom(room.roomId, { reason: 'maintenance' });
    await waitFor(() => r.ok().some((e) => e.body.kind === 'game.paused'), 'game.paused', 10_000);
    const paused = r.ok().find((e) => e.body.kind === 'game.paused')!;
    expect(paused.body.payload).toEqual({ game_id: room.roomId, turn: 2, reason: 'maintenance' });
    expect(r.ok().map((e) => e.body.kind)).toEqual(['game.turn.ready', 'game.paused']);
  }, 60_000);
});
