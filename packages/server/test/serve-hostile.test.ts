import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '@parlor/squish';
import { TestClient, waitFor } from './helpers.js';
import { buildRunnerImage, dockerUp, endedWith, fixture, requireDockerInCi } from './hostile-bed.js';

/**
 * Issue 7, "done when": the attacks fail against `parlor serve` itself (the CLI as an operator
 * runs it, a real child process), in both sandboxed runtimes, and the server keeps serving a
 * co-tenant room; SIGTERM still shuts it down cleanly afterwards.
 */

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const IMAGE = 'parlor-runner:serve-test';
requireDockerInCi('the parlor serve hostile suite');

/** The games an operator would serve: a well-behaved one and the hostile fixtures (with their shared lib). */
let gamesDir: string;
beforeAll(() => {
  gamesDir = mkdtempSync(join(tmpdir(), 'parlor-serve-hostile-'));
  cpSync(fixture('hostile/lib'), join(gamesDir, 'lib'), { recursive: true });
  cpSync(fixture('sandbox/ticker.ts'), join(gamesDir, 'ticker.ts'));
  for (const g of ['stdio-escape', 'channel-error-object', 'channel-redirect', 'channel-fanout', 'buffer-hog']) cpSync(fixture(`hostile/${g}.ts`), join(gamesDir, `${g}.ts`));
});
afterAll(() => rmSync(gamesDir, { recursive: true, force: true }));

/** `parlor serve` from source in a child process; resolves once it prints its URL. */
async function serve(runtime: 'process' | 'docker'): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const args = ['--import', 'tsx', join(repo, 'packages/server/src/cli/cli.ts'), 'serve', '--games', gamesDir, '--host', '127.0.0.1', '--port', '0', '--runtime', runtime, '--drain-timeout', '0'];
  if (runtime === 'docker') args.push('--image', IMAGE, '--instance-id', `serve-hostile-${process.pid}`);
  const child = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => /Open (http:\/\/127\.0\.0\.1:\d+)\//.test(out) || child.exitCode !== null, 'parlor serve listening', 60_000);
  const m = /Open (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
  if (!m) throw new Error(`parlor serve did not start:\n${out}`);
  return { child, url: m[1], output: () => out };
}

describe.each([
  { runtime: 'process' as const, skip: false },
  { runtime: 'docker' as const, skip: !dockerUp },
])('parlor serve --runtime $runtime against hostile games', ({ runtime, skip }) => {
  if (skip) {
    it.skip('needs a Docker engine', () => {});
    return;
  }
  let srv: Awaited<ReturnType<typeof serve>>;
  const clients: TestClient[] = [];
  let control: TestClient;
  const connect = async (game: string): Promise<TestClient> => {
    const c = new TestClient(`${srv.url.replace(/^http/, 'ws')}/parlor/ws`);
    clients.push(c);
    await c.opened;
    await c.joinAndSync(game);
    return c;
  };

  beforeAll(async () => {
    if (runtime === 'docker') buildRunnerImage(IMAGE);
    srv = await serve(runtime);
    control = await connect('ticker');
  }, 150_000);
  afterAll(() => {
    for (const c of clients) c.close();
    if (srv?.child.exitCode === null) srv.child.kill('SIGKILL');
  });

  it('every escape through stdio, handles and bindings is blocked; the co-tenant keeps its frames', async () => {
    const c = await connect('stdio-escape');
    const reports = () => c.texts().filter((t) => /: (blocked|SUCCEEDED)/.test(t));
    await waitFor(() => reports().length >= 24, `24 attack reports (have ${JSON.stringify(reports())})`, 15_000);
    expect(reports().filter((t) => t.includes('SUCCEEDED'))).toEqual([]);
    await control.moreFrames(10);
  });

  it('an error whose message is an object, a forged redirect, 200 000 parts, memory outside the heap: each ends its own room only', async () => {
    const outcomes: Array<[string, RegExp]> = [
      ['channel-error-object', /./],
      ['channel-redirect', /not a squish frame/],
      ['channel-fanout', /200000 parts/],
      ['buffer-hog', /exceeded its memory limit/],
    ];
    for (const [game, why] of outcomes) {
      const c = await connect(game);
      await endedWith(c, why, 20_000);
      expect(c.messages.some((m) => m.type === 'redirect')).toBe(false);
      await control.moreFrames(10);
    }
    expect(control.closeInfo).toBeNull();
  });

  it('the server is still whole: it answers, and SIGTERM closes it (players get 1001)', async () => {
    const health = await fetch(`${srv.url}/healthz`);
    expect(health.status).toBe(200);
    srv.child.kill('SIGTERM');
    expect((await control.closed(10_000)).code).toBe(CloseCode.GOING_AWAY);
    await waitFor(() => srv.child.exitCode !== null, 'parlor serve exits', 15_000);
    expect(srv.child.exitCode).toBe(0);
    // no host stack trace anywhere in its output (the games' own errors are logged as one line each)
    expect(srv.output()).not.toMatch(/^\s+at /m);
  });
});
