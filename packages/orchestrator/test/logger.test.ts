import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Orchestrator, createLogger } from '../src/index.js';
import { ADMIN_KEY, AGENT_KEY, describeContract, http } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function sink(): { lines: string[]; destination: { write(l: string): void } } {
  const lines: string[] = [];
  return { lines, destination: { write: (l: string) => void lines.push(l) } };
}

describe('logs', () => {
  it('createLogger writes JSON objects and redacts keys, tokens and tickets at the top level and one level down', () => {
    const { lines, destination } = sink();
    const log = createLogger({ level: 'info', destination });
    log.info({ adminKey: 'SECRET-1', agentKey: ['SECRET-2'], req: { headers: { authorization: 'Bearer SECRET-3' } }, seats: { tickets: ['SECRET-4'] }, key: 'SECRET-5', keyFp: 'fp:12345678' }, 'hello');
    log.debug('below the level');
    expect(lines).toHaveLength(1);
    const o = JSON.parse(lines[0]);
    expect(o).toMatchObject({ msg: 'hello', name: 'orchestrator', level: 30, keyFp: 'fp:12345678', adminKey: '[redacted]', key: '[redacted]' });
    expect(lines[0]).not.toMatch(/SECRET/);
  });

  it('the logger option takes a pino logger (the orchestrator logs through a child of it, redacted) or a level', async () => {
    const { lines, destination } = sink();
    const mine = pino({ level: 'info', base: { app: 'matchmaker' } }, destination);
    const orch = new Orchestrator({ host: '127.0.0.1', port: 0, agentKey: AGENT_KEY, adminKey: ADMIN_KEY, logger: mine });
    cleanups.push(() => orch.shutdown());
    await orch.listen();
    await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong' } });
    const logs = lines.map((l) => JSON.parse(l));
    expect(logs).toContainEqual(expect.objectContaining({ app: 'matchmaker', msg: 'listening', url: orch.url }));
    expect(logs).toContainEqual(expect.objectContaining({ app: 'matchmaker', component: 'http', msg: 'audit', method: 'POST', status: 409 }));
    expect(lines.join('')).not.toContain(ADMIN_KEY);
    mine.info({ adminKey: 'SECRET' }, 'the user logger itself is not changed');
    expect(lines.at(-1)).toContain('SECRET');

    const quiet = new Orchestrator({ host: '127.0.0.1', port: 0, agentKey: AGENT_KEY, adminKey: ADMIN_KEY, logger: 'silent' });
    cleanups.push(() => quiet.shutdown());
    expect(quiet.logger.level).toBe('silent');
  });
});

describeContract();
