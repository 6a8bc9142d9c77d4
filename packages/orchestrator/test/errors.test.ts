/**
 * The orchestrator's errors in the one error model: branded ParlorErrors whose instanceof survives
 * a second copy of the package, stable prefixed codes for what is not a REST cause, `cause` kept.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ParlorError } from '@parlor/squish';
import {
  FleetCause,
  FleetClient,
  FleetClientError,
  FleetClientErrorCode,
  Orchestrator,
  OrchestratorConfigError,
  OrchestratorError,
  OrchestratorErrorCode,
  createLogger,
  type FleetEvent,
  type LogLevel,
} from '../src/index.js';
import { ADMIN_KEY, captureLogger, startOrchestrator, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A second, separate copy of a source module (as a CommonJS and an ES module copy side by side would be). */
async function secondCopy<T>(file: string): Promise<T> {
  return (await import(/* @vite-ignore */ new URL(`../src/${file}?second-copy`, import.meta.url).href)) as T;
}

/** A plain HTTP server answering every request with `status` and a text body (not the /v1 envelope). */
async function plainServer(status: number): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => res.writeHead(status, { 'content-type': 'text/plain' }).end('not parlor'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function client(baseUrl: string, extra: Partial<ConstructorParameters<typeof FleetClient>[0]> = {}): FleetClient {
  const c = new FleetClient({ baseUrl, adminKey: ADMIN_KEY, reconnectDelayMs: 5, reconnectMaxDelayMs: 20, ...extra });
  cleanups.push(() => c.close());
  return c;
}

describe('orchestrator error classes', () => {
  it('are ParlorErrors with their names, codes and statuses; instanceof holds across two copies of the package', async () => {
    type Errors = typeof import('../src/errors.js');
    type Client = typeof import('../src/client.js');
    const other = await secondCopy<Errors>('errors.ts');
    const otherClient = await secondCopy<Client>('client.ts');
    expect(other.OrchestratorError).not.toBe(OrchestratorError);
    expect(otherClient.FleetClientError).not.toBe(FleetClientError);

    const cause = new Error('inner');
    const theirs = new other.OrchestratorConfigError('bad option', { cause });
    expect(theirs).toMatchObject({ name: 'OrchestratorConfigError', code: OrchestratorErrorCode.CONFIG, status: 500, message: 'bad option' });
    expect(theirs.cause).toBe(cause);
    expect(Object.getPrototypeOf(theirs)).not.toBe(OrchestratorConfigError.prototype);
    expect(theirs instanceof OrchestratorConfigError && theirs instanceof OrchestratorError && theirs instanceof ParlorError).toBe(true);
    expect(new other.OrchestratorError(FleetCause.ROOM_EXISTS, 'x')).toMatchObject({ name: 'OrchestratorError', code: 'ROOM_EXISTS', status: 409 });
    expect(new other.OrchestratorError(FleetCause.ROOM_EXISTS, 'x') instanceof OrchestratorConfigError).toBe(false);
    expect(new OrchestratorError(FleetCause.COMMAND_FAILED, 'x') instanceof other.OrchestratorError).toBe(true);

    const fromOther = new otherClient.FleetClientError(FleetClientErrorCode.NETWORK, 0, 'no answer', { cause });
    expect(fromOther).toMatchObject({ name: 'FleetClientError', code: 'ORCHESTRATOR_CLIENT_NETWORK', status: 0 });
    expect(fromOther.cause).toBe(cause);
    expect(fromOther instanceof FleetClientError && fromOther instanceof ParlorError).toBe(true);
    expect(fromOther instanceof OrchestratorError).toBe(false);
    expect(new OrchestratorError(FleetCause.INTERNAL, 'x') instanceof otherClient.FleetClientError).toBe(false);
    expect({ code: 'ORCHESTRATOR_CLIENT_NETWORK' } instanceof FleetClientError).toBe(false);
  });

  it('codes: ORCHESTRATOR_* for the orchestrator, ORCHESTRATOR_CLIENT_* for FleetClient; REST causes stay bare', () => {
    for (const code of Object.values(OrchestratorErrorCode)) expect(code).toMatch(/^ORCHESTRATOR_[A-Z_]+$/);
    for (const code of Object.values(FleetClientErrorCode)) expect(code).toMatch(/^ORCHESTRATOR_CLIENT_[A-Z_]+$/);
    for (const [k, v] of Object.entries(FleetCause)) expect(v).toBe(k);
  });
});

describe('what the orchestrator throws', () => {
  it('listen on a port in use: ORCHESTRATOR_LISTEN, the EADDRINUSE error kept as cause', async () => {
    const { orch } = await startOrchestrator();
    cleanups.push(() => orch.shutdown());
    const { logger } = captureLogger();
    const second = new Orchestrator({ host: '127.0.0.1', port: orch.port, agentKey: 'a'.repeat(16), adminKey: 'b'.repeat(16), logger });
    cleanups.push(() => second.shutdown());
    const err = await second.listen().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OrchestratorError);
    expect(err).toMatchObject({ code: OrchestratorErrorCode.LISTEN, status: 500 });
    expect((err as OrchestratorError).cause).toMatchObject({ code: 'EADDRINUSE' });
  });

  it('an unknown log level: OrchestratorConfigError, pino’s error kept as cause', () => {
    const bad = 'loud' as LogLevel;
    for (const make of [() => createLogger({ level: bad }), () => new Orchestrator({ logLevel: bad, agentKey: 'a'.repeat(16), adminKey: 'b'.repeat(16) })]) {
      let err: unknown;
      try {
        make();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OrchestratorConfigError);
      expect(err).toMatchObject({ code: OrchestratorErrorCode.CONFIG });
      expect((err as OrchestratorConfigError).cause).toBeInstanceOf(Error);
    }
  });
});

describe('what FleetClient throws', () => {
  it('invalid options: ORCHESTRATOR_CLIENT_CONFIG from the constructor', () => {
    const bad: Array<ConstructorParameters<typeof FleetClient>[0]> = [
      { baseUrl: 'not a url', adminKey: ADMIN_KEY },
      { baseUrl: 'ftp://127.0.0.1', adminKey: ADMIN_KEY },
      { baseUrl: 'http://127.0.0.1', adminKey: '' },
      { baseUrl: 'http://127.0.0.1', adminKey: ADMIN_KEY, retries: -1 },
      { baseUrl: 'http://127.0.0.1', adminKey: ADMIN_KEY, retryDelayMs: Number.NaN },
      { baseUrl: 'http://127.0.0.1', adminKey: ADMIN_KEY, reconnectMaxDelayMs: -5 },
    ];
    for (const options of bad) {
      expect(() => new FleetClient(options), JSON.stringify(options)).toThrow(expect.objectContaining({ name: 'FleetClientError', code: FleetClientErrorCode.CONFIG, status: 0 }));
    }
  });

  it('no answer: ORCHESTRATOR_CLIENT_NETWORK (status 0, undici’s error as cause); not the envelope: ORCHESTRATOR_CLIENT_BAD_RESPONSE; a refusal: its bare cause', async () => {
    const down = client(`http://127.0.0.1:${await closedPort()}`);
    const network = await down.stats().catch((e: unknown) => e);
    expect(network).toBeInstanceOf(FleetClientError);
    expect(network).toMatchObject({ code: FleetClientErrorCode.NETWORK, status: 0 });
    expect((network as FleetClientError).cause).toBeInstanceOf(Error);
    // createRoom retries a network error, then throws the last one
    await expect(client(`http://127.0.0.1:${await closedPort()}`, { retries: 2, retryDelayMs: 1 }).createRoom({ type: 'pong' })).rejects.toMatchObject({ code: FleetClientErrorCode.NETWORK });

    for (const status of [200, 502]) {
      const { url } = await plainServer(status);
      await expect(client(url).instances()).rejects.toMatchObject({ name: 'FleetClientError', code: FleetClientErrorCode.BAD_RESPONSE, status });
    }

    const { orch } = await startOrchestrator();
    cleanups.push(() => orch.shutdown());
    await expect(client(orch.url).room('nope')).rejects.toMatchObject({ name: 'FleetClientError', code: FleetCause.ROOM_NOT_FOUND, status: 404 });
    await expect(client(orch.url, { adminKey: 'wrong-key' }).stats()).rejects.toMatchObject({ code: FleetCause.UNAUTHORIZED, status: 401 });
  });

  it('events(): onError gets FleetClientErrors (a refusal, no answer) or what onEvent threw, unchanged; the stream keeps reconnecting', async () => {
    const { orch } = await startOrchestrator();
    cleanups.push(() => orch.shutdown());

    const refused: Error[] = [];
    const s1 = client(orch.url, { adminKey: 'wrong-key' }).events(() => undefined, { onError: (e) => refused.push(e) });
    cleanups.push(() => s1.close());
    await waitFor(() => refused.length >= 2, 'two refusals (the stream reconnects after each)');
    s1.close(); // before the failed-auth throttle (20 per address) would refuse the streams below too
    for (const e of refused) expect(e).toSatisfy((x: unknown) => x instanceof FleetClientError && x.code === FleetCause.UNAUTHORIZED && x.status === 401);

    const unreachable: Error[] = [];
    const s2 = client(`http://127.0.0.1:${await closedPort()}`).events(() => undefined, { onError: (e) => unreachable.push(e) });
    cleanups.push(() => s2.close());
    await waitFor(() => unreachable.length >= 2, 'two network failures');
    s2.close();
    for (const e of unreachable) expect(e).toSatisfy((x: unknown) => x instanceof FleetClientError && x.code === FleetClientErrorCode.NETWORK && x.cause instanceof Error);

    const mine = new Error('consumer bug');
    const thrown: Error[] = [];
    const syncs: FleetEvent[] = [];
    const s3 = client(orch.url).events(
      (e) => {
        if (e.name !== 'sync') return;
        syncs.push(e);
        if (syncs.length === 1) throw mine;
      },
      { onError: (e) => thrown.push(e) },
    );
    cleanups.push(() => s3.close());
    await waitFor(() => syncs.length >= 2, 'a sync after the consumer threw (the stream reconnected)');
    expect(thrown[0]).toBe(mine);
  });
});
