/**
 * A real, throwaway PostgreSQL server for tests: `initdb` into a temp folder, then `postgres` on
 * 127.0.0.1 and a free port, run as the `postgres` OS user when this process is root (Postgres
 * refuses root). One server per test file ({@link startPostgres}), a database per test
 * ({@link PgServer.createDatabase}). It can be stopped (SIGINT: fast shutdown), killed (SIGKILL to
 * its whole process group: a crash) and started again on the same data folder, to test what a
 * client does across a restart.
 *
 * The binaries come from Debian's `postgresql` (`/usr/lib/postgresql/<n>/bin`, which `.ci/run`
 * installs); without them {@link PG_SKIP} says why and the tests skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** The newest `/usr/lib/postgresql/<n>/bin` holding `initdb` and `postgres`, else undefined. */
export const PG_BIN: string | undefined = (() => {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'postgres')) && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : undefined;
})();

/** Why Postgres tests skip (`undefined`: they run). */
export const PG_SKIP: string | undefined = PG_BIN ? undefined : 'PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (install Debian `postgresql`; .ci/run does)';

const isRoot = process.getuid?.() === 0;
const pgUser = (): { uid: number; gid: number } => {
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('running as root: the `postgres` OS user is needed to run a test Postgres server (apt-get install postgresql creates it)');
  return { uid, gid };
};

/** `cmd args` as the postgres user when root. */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return isRoot ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', cmd, ...args]] : [cmd, args];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A running (or stopped) test server. */
export interface PgServer {
  readonly port: number;
  /** The URL of database `db` (default `postgres`), user `parlor`, no password (trust on 127.0.0.1). */
  url(db?: string): string;
  /** Creates a fresh database and returns its URL. */
  createDatabase(): Promise<string>;
  /** Fast shutdown (SIGINT): waits until the server process has exited. */
  stop(): Promise<void>;
  /** SIGKILL to the server and all its processes (a crash); waits until they are gone. */
  kill(): Promise<void>;
  /** Starts it again on the same data folder and port; resolves when it accepts connections. */
  start(): Promise<void>;
  /** Stops it (if running) and removes its folder. Idempotent. */
  close(): Promise<void>;
}

let databases = 0;

/** Starts a throwaway server. Call {@link PgServer.close} in `afterAll`. @throws when the binaries are missing (check {@link PG_SKIP} first) or it does not start in 30 s. */
export async function startPostgres(): Promise<PgServer> {
  if (!PG_BIN) throw new Error(PG_SKIP);
  const bin = PG_BIN;
  const root = mkdtempSync(join(tmpdir(), 'parlor-pg-'));
  const data = join(root, 'data');
  if (isRoot) {
    const { uid, gid } = pgUser();
    chownSync(root, uid, gid);
  }
  const [icmd, iargs] = asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'parlor', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const init = spawnSync(icmd, iargs, { encoding: 'utf8' });
  if (init.status !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  }
  const port = await freePort();
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  let closed = false;
  const url = (db = 'postgres'): string => `postgres://parlor@127.0.0.1:${port}/${db}`;

  const start = async (): Promise<void> => {
    if (child) return;
    // fsync off: the faults here kill processes, not the machine, and the OS keeps what was written
    const [cmd, args] = asPostgres(join(bin, 'postgres'), ['-D', data, '-k', root, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=60', '-c', 'shared_buffers=16MB']);
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child = proc;
    log = '';
    proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    exited = new Promise((resolve) => proc.once('close', () => resolve()));
    let gone = false;
    void exited.then(() => {
      gone = true;
      if (child === proc) child = null;
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (gone) throw new Error(`postgres exited at start: ${log.trim().split('\n').slice(-5).join(' | ')}`);
      const c = new pg.Client({ connectionString: url(), connectionTimeoutMillis: 1000 });
      c.on('error', () => undefined);
      try {
        await c.connect();
        await c.query('SELECT 1');
        await c.end();
        return;
      } catch {
        await c.end().catch(() => undefined);
      }
      if (Date.now() > deadline) {
        process.kill(-proc.pid!, 'SIGKILL');
        throw new Error(`postgres did not accept connections in 30 s: ${log.trim().split('\n').slice(-5).join(' | ')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const signal = async (sig: NodeJS.Signals, group: boolean): Promise<void> => {
    const proc = child;
    if (!proc) return;
    try {
      process.kill(group ? -proc.pid! : proc.pid!, sig);
    } catch {
      /* already gone */
    }
    await exited;
    child = null;
    if (group) {
      // the backends are in its process group: wait until none is left (a restart needs its shared memory free)
      for (let i = 0; i < 200; i++) {
        try {
          process.kill(-proc.pid!, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  };

  await start();
  const server: PgServer = {
    port,
    url,
    async createDatabase() {
      const name = `t${process.pid}_${++databases}`;
      const c = new pg.Client({ connectionString: url() });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    stop: () => signal('SIGINT', false),
    kill: () => signal('SIGKILL', true),
    start,
    async close() {
      if (closed) return;
      closed = true;
      await signal('SIGINT', false);
      rmSync(root, { recursive: true, force: true });
    },
  };
  return server;
}
