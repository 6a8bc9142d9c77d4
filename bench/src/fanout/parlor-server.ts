/**
 * The fan-out bench's Parlor server (a child process the bench pins to one core): the bench game
 * in the inline runtime, limits raised so N loopback clients (one address) fit in one room or
 * open as many rooms as they need. Prints
 * `listening <port>` on stdout, then answers the probe (probe.ts), with the frames the server
 * wrote and skipped for backpressure (its metrics).
 */
import { fileURLToPath } from 'node:url';
import { createGameServer, createLogger } from '@parlor/server';
import { serveProbe } from './probe.js';

const counters = globalThis as unknown as { __fanoutTicks?: number; __fanoutRooms?: number };
const server = await createGameServer({
  games: { fanout: fileURLToPath(new URL('./parlor-game.ts', import.meta.url)) },
  port: 0,
  host: '127.0.0.1',
  runtime: 'inline',
  logger: createLogger({ level: 'warn' }),
  maxConnections: 20_000,
  maxConnectionsPerAddress: 20_000,
  maxRooms: 10_000,
  roomsPerAddressPerMinute: 100_000,
});
const total = async (c: { get(): Promise<{ values: Array<{ value: number }> }> }): Promise<number> => (await c.get()).values.reduce((a, v) => a + v.value, 0);
serveProbe(async () => {
  const ticks = counters.__fanoutTicks ?? 0;
  return {
    steps: ticks,
    frames: ticks,
    rooms: counters.__fanoutRooms ?? 0,
    sent: await total(server.metrics.framesSent),
    skipped: await total(server.metrics.framesSkipped),
  };
});
process.stdout.write(`listening ${server.port}\n`);
