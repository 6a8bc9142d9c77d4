import { FleetAgent, type FleetAgentOptions, type FleetHost, type HostRoom } from '@parlor/fleet-agent';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { Orchestrator, createLogger, type OrchestratorOptions, type Logger } from '../src/index.js';
import { checkContract, fetchOpenApi, recorded, recorder } from './contract.js';

/** A logger that drops everything, for agents whose logs a test does not read. */
export const quietAgentLogger = createLogger({ level: 'silent' });

export const AGENT_KEY = 'agent-key-0123456789abcdef';
export const ADMIN_KEY = 'admin-key-0123456789abcdef';

/** Waits (vitest's `vi.waitFor`, polling every 5 ms) until `cond` holds; fails with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await cond())) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    },
    { timeout: timeoutMs, interval: 5 },
  );
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One log object as pino wrote it. */
export type LogRecord = { level: number; msg: string } & Record<string, unknown>;

/** A pino logger (level debug) whose objects are kept in `logs`, and their raw lines in `raw`. */
export function captureLogger(): { logger: Logger; logs: LogRecord[]; raw: string[] } {
  const logs: LogRecord[] = [];
  const raw: string[] = [];
  const destination = {
    write(line: string): void {
      raw.push(line);
      logs.push(JSON.parse(line) as LogRecord);
    },
  };
  return { logs, raw, logger: createLogger({ level: 'debug', destination }) };
}

/** Starts an orchestrator on 127.0.0.1:0 with test keys and fast polls. */
export async function startOrchestrator(opts: OrchestratorOptions = {}): Promise<{ orch: Orchestrator; logs: LogRecord[]; raw: string[] }> {
  const { logger, logs, raw } = captureLogger();
  const orch = new Orchestrator({
    host: '127.0.0.1',
    port: 0,
    agentKey: AGENT_KEY,
    adminKey: ADMIN_KEY,
    pollMs: 100,
    commandTimeoutMs: 1000,
    logger,
    ...opts,
  });
  await orch.listen();
  return { orch, logs, raw };
}

/**
 * An in-memory server host: rooms in a map. A real implementation of the FleetHost interface
 * (used where the game server itself is not under test), with knobs to slow or wedge it.
 */
export class MemoryHost implements FleetHost {
  readonly rooms = new Map<string, HostRoom & { options: Record<string, unknown> }>();
  types = ['pong', 'cards'];
  /** Delay of createRoom / destroyRoom (ms). */
  delayMs = 0;
  /** When set, commands never finish. */
  wedged = false;
  /** When set, createRoom throws this message. */
  failCreate: string | null = null;
  listRooms(): HostRoom[] {
    return [...this.rooms.values()].map(({ options: _o, ...r }) => r);
  }
  roomTypes(): string[] {
    return this.types;
  }
  async createRoom(type: string, roomId: string, options: Record<string, unknown>): Promise<void> {
    if (this.wedged) await new Promise(() => undefined);
    if (this.delayMs) await sleep(this.delayMs);
    if (this.failCreate) throw new Error(this.failCreate);
    if (this.rooms.has(roomId)) throw Object.assign(new Error('exists'), { code: 'ROOM_EXISTS' });
    this.rooms.set(roomId, { roomId, type, clientCount: 0, metadata: {}, options });
  }
  async destroyRoom(roomId: string): Promise<void> {
    if (this.wedged) await new Promise(() => undefined);
    if (this.delayMs) await sleep(this.delayMs);
    this.rooms.delete(roomId);
  }
  /** A local room (a player's first join). */
  addLocal(roomId: string, type = 'pong', clientCount = 1): void {
    this.rooms.set(roomId, { roomId, type, clientCount, metadata: {}, options: {} });
  }
}

/** Starts an agent with a MemoryHost connected to `orch`. */
export async function startAgent(
  orch: Orchestrator,
  opts: Partial<FleetAgentOptions> = {},
  host = new MemoryHost(),
): Promise<{ agent: FleetAgent; host: MemoryHost }> {
  const agent = new FleetAgent(host, {
    url: orch.agentUrl,
    key: AGENT_KEY,
    endpointUrl: 'http://127.0.0.1:9',
    name: 'test',
    minBackoffMs: 20,
    maxBackoffMs: 200,
    logger: quietAgentLogger,
    ...opts,
  });
  await agent.connect({ connectTimeoutMs: 5000 });
  await waitFor(() => orch.fleet.getInstance(agent.processUid)?.roomTypes.length === host.types.length, 'first snapshot');
  return { agent, host };
}

/** A raw HTTP call (recorded for the contract check); returns status, headers and parsed JSON (or text). */
export async function http(
  orch: Orchestrator,
  method: string,
  path: string,
  opts: { key?: string | null; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const key = opts.key === undefined ? ADMIN_KEY : opts.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  let body: string | Buffer | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await request(`${orch.url}${path}`, { method: method as 'GET', headers, body, dispatcher: recorder });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // text
  }
  return { status: res.statusCode, headers: res.headers, body: parsed };
}

/**
 * The last test of a file that calls the REST API: every response it provoked (see
 * `contract.ts`) is described by `/v1/openapi.json`.
 */
export function describeContract(): void {
  describe('REST contract', () => {
    it('every response this file provoked matches /v1/openapi.json', async () => {
      expect(recorded.length).toBeGreaterThan(0);
      const { orch } = await startOrchestrator();
      try {
        expect(checkContract(await fetchOpenApi(orch.url), recorded)).toEqual([]);
      } finally {
        await orch.shutdown();
      }
    });
  });
}
