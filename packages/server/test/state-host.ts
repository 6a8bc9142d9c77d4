/**
 * A real `parlor serve --state-dir` host for the durable-state tests (the CLI from source, in its
 * own process group, so kill -9 takes its sandboxes with it as a machine crash would).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TestClient, waitFor } from './helpers.js';

export const repo = resolve(__dirname, '../../..');
const cli = join(repo, 'packages/server/src/cli/cli.ts');
/** The fixture games: `ledger` (turn-based) and `tally` (real-time, saves). */
export const STATE_GAMES = join(repo, 'packages/server/test/fixtures/state-games');

const children: ChildProcess[] = [];
const dirs: string[] = [];

/** A temporary folder, removed by {@link cleanUp}. */
export function tempDir(prefix = 'parlor-state-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Kills what is left and removes the temporary folders (afterAll). */
export function cleanUp(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) killGroup(c, 'SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

function killGroup(c: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-c.pid!, signal);
  } catch {
    // gone already
  }
}

/** One log object of the host (pino JSON lines on stdout). */
export type HostLog = { level: number; msg: string } & Record<string, unknown>;

/** A running host. */
export interface Host {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  base: string;
  wsUrl: string;
  /** Everything it printed so far. */
  out(): string;
  /** Its JSON log lines so far. */
  logs(): HostLog[];
  /** Waits until a log line satisfies `pred`. */
  waitForLog(pred: (l: HostLog) => boolean, what: string, timeoutMs?: number): Promise<HostLog>;
  /** A protocol client connected to it. */
  client(): Promise<TestClient>;
  /** kill -9 of its whole process group; resolves when it closed. */
  kill9(): Promise<void>;
  /** SIGTERM; resolves with its exit code once it closed. */
  term(): Promise<number | null>;
  /** Resolves when the process closed (its output read to the end). */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `parlor serve --games <games> --state-dir <stateDir> --port 0 …args` (no `--games` for `null`) and waits until it listens. */
export async function startHost(stateDir: string, args: string[] = [], games: string | null = STATE_GAMES): Promise<Host> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', cli, 'serve', ...(games === null ? [] : ['--games', games]), '--state-dir', stateDir, '--host', '127.0.0.1', '--port', '0', '--drain-timeout', '0', ...args],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, NODE_ENV: 'test' } },
  );
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('close', (code, signal) => r({ code, signal })));
  let exited = false;
  void closed.then(() => (exited = true));
  await waitFor(() => /Open +http:\/\/127\.0\.0\.1:\d+\//.test(out) || exited, 'parlor serve listening', 60_000);
  const base = /Open +(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
  if (!base) throw new Error(`parlor serve did not start:\n${out}`);
  const logs = (): HostLog[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as HostLog);
  const wsUrl = `${base.replace(/^http/, 'ws')}/parlor/ws`;
  return {
    child,
    base,
    wsUrl,
    out: () => out,
    logs,
    async waitForLog(pred, what, timeoutMs = 10_000) {
      let found: HostLog | undefined;
      await waitFor(() => (found = logs().find(pred)) !== undefined, `${what} in the host's log:\n${out.slice(-3000)}`, timeoutMs);
      return found!;
    },
    async client() {
      const c = new TestClient(wsUrl);
      await c.opened;
      return c;
    },
    async kill9() {
      killGroup(child, 'SIGKILL');
      await closed;
    },
    async term() {
      child.kill('SIGTERM');
      return (await closed).code;
    },
    closed,
  };
}
