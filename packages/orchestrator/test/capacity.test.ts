/**
 * Hosts enforce the capacity they declare (issue 12, item 7): a game server's agent declares the
 * server's own `maxConnections` / `maxRooms` (never more), and the server refuses past them.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Game, Group, type GameMetadata, type Node } from '@parlor/squish';
import { createFleetHost, createGameServer, type GameServer } from '@parlor/server';
import { FleetAgent, type FleetAgentOptions } from '@parlor/fleet-agent';
import { AGENT_KEY, captureLogger, quietAgentLogger, startOrchestrator, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

class Solo extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Solo', tickRate: 10, maxPlayers: 1 };
  }
  readonly root = new Group();
  getLayers(): Node[] {
    return [this.root];
  }
}

async function server(): Promise<GameServer> {
  const s = await createGameServer({ games: { solo: { gameClass: Solo } }, port: 0, host: '127.0.0.1', maxConnections: 3, maxRooms: 2, logger: captureLogger().logger });
  cleanups.push(() => s.close());
  return s;
}

/** Opens a TCP connection and resolves with the first bytes the server sends unasked (a refusal), or '' while it stays open and silent. */
function tcp(s: GameServer): Promise<{ sock: Socket; refused: () => string }> {
  return new Promise((resolve) => {
    const sock = connect(s.port, '127.0.0.1');
    cleanups.push(() => sock.destroy());
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString()));
    sock.on('error', () => undefined);
    sock.on('connect', () => resolve({ sock, refused: () => got }));
  });
}

describe('declared capacity is enforced capacity', () => {
  it('the agent declares the server’s own caps, lowers to them a larger option, keeps a smaller one; the server refuses past them', async () => {
    const { orch } = await startOrchestrator();
    cleanups.push(() => orch.shutdown());
    const s = await server();
    expect(s.capacity).toEqual({ maxConnections: 3, maxRooms: 2 });
    const attach = async (capacity?: FleetAgentOptions['capacity']): Promise<FleetAgent> => {
      const agent = new FleetAgent(createFleetHost(s), { url: orch.agentUrl, key: AGENT_KEY, endpointUrl: s.url, capacity, logger: quietAgentLogger });
      cleanups.push(() => agent.disconnect());
      await agent.connect({ connectTimeoutMs: 3000 });
      await waitFor(() => orch.fleet.getInstance(agent.processUid) !== undefined, 'instance joined');
      return agent;
    };
    const plain = await attach();
    expect(orch.fleet.getInstance(plain.processUid)!.capacity).toEqual({ maxConnections: 3, maxRooms: 2 });
    const larger = await attach({ maxConnections: 1000, maxRooms: 100 });
    expect(orch.fleet.getInstance(larger.processUid)!.capacity).toEqual({ maxConnections: 3, maxRooms: 2 });
    const smaller = await attach({ maxConnections: 2 });
    expect(orch.fleet.getInstance(smaller.processUid)!.capacity).toEqual({ maxConnections: 2, maxRooms: 2 });

    // the server holds exactly the connections it declared: three stay open, the fourth is refused with 503
    const open = [await tcp(s), await tcp(s), await tcp(s)];
    const fourth = await tcp(s);
    await waitFor(() => fourth.refused().startsWith('HTTP/1.1 503'), 'the fourth connection refused');
    for (const c of open) expect(c.refused()).toBe('');
  });
});
