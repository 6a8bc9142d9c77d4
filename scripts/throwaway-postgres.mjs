#!/usr/bin/env node
/**
 * A throwaway PostgreSQL server for trying `parlor-orchestrator --database-url` (and for the README's
 * commands in CI): `initdb` into a temp folder, `postgres` on 127.0.0.1:<port> (run as the `postgres`
 * OS user when started as root: Postgres refuses root), one database, user `parlor` without a password
 * (trust, 127.0.0.1 only). Prints the URL once it accepts connections; Ctrl-C (SIGINT/SIGTERM) stops it
 * and removes its folder: nothing survives. Not for production: use a real server there.
 *
 *   node scripts/throwaway-postgres.mjs [--port 5433] [--db parlor]
 *
 * Needs the PostgreSQL server binaries (/usr/lib/postgresql/<n>/bin: Debian's `postgresql` package).
 */
/* global process, console, setTimeout -- Node globals (scripts/ has no eslint environment) */
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : def;
};
const port = Number(arg('--port', '5433'));
const db = arg('--db', 'parlor');
const fail = (msg) => {
  console.error(`throwaway-postgres: ${msg}`);
  process.exit(1);
};
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`--port must be a port number (got ${arg('--port')})`);
if (!/^[a-z_][a-z0-9_]{0,62}$/.test(db)) fail(`--db must be a lower-case database name (got ${db})`);

const root = '/usr/lib/postgresql';
const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a)) : [];
if (!versions.length) fail('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: apt-get install postgresql (or point --database-url at a server of your own)');
const bin = path.join(root, versions[0], 'bin');
const isRoot = process.getuid?.() === 0;
const as = (cmd, cmdArgs) => (isRoot ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', cmd, ...cmdArgs]] : [cmd, cmdArgs]);

const dir = mkdtempSync(path.join(tmpdir(), 'parlor-postgres-'));
const data = path.join(dir, 'data');
const cleanup = () => rmSync(dir, { recursive: true, force: true });
if (isRoot) {
  const id = (flag) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(id('-u')) || spawnSync('id', ['postgres']).status !== 0) {
    cleanup();
    fail('running as root needs the `postgres` OS user (the postgresql package creates it)');
  }
  chownSync(dir, id('-u'), id('-g'));
}
const [icmd, iargs] = as(path.join(bin, 'initdb'), ['-D', data, '-U', 'parlor', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
const init = spawnSync(icmd, iargs, { encoding: 'utf8' });
if (init.status !== 0) {
  cleanup();
  fail(`initdb failed: ${(init.stderr || init.stdout).trim().split('\n').pop()}`);
}
const [cmd, cmdArgs] = as(path.join(bin, 'postgres'), ['-D', data, '-k', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1']);
const server = spawn(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
server.stderr.on('data', (d) => (log = (log + d.toString()).slice(-4000)));
const exited = new Promise((resolve) => server.once('close', resolve));
let stopping = false;
void exited.then((code) => {
  if (stopping) return;
  cleanup();
  fail(`postgres exited (${code}): ${log.trim().split('\n').slice(-2).join(' | ')}`);
});
const stop = async () => {
  if (stopping) return;
  stopping = true;
  server.kill('SIGINT'); // fast shutdown
  await exited;
  cleanup();
  console.log('throwaway-postgres: stopped, its data removed');
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

const ready = path.join(bin, 'pg_isready');
for (let i = 0; ; i++) {
  if (spawnSync(ready, ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'parlor', '-d', 'postgres']).status === 0) break;
  if (i > 300) {
    server.kill('SIGKILL');
    fail(`postgres did not accept connections on 127.0.0.1:${port} in 30 s: ${log.trim().split('\n').slice(-2).join(' | ')}`);
  }
  await new Promise((r) => setTimeout(r, 100));
}
const created = spawnSync(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'parlor', db], { encoding: 'utf8' });
if (created.status !== 0) {
  stopping = true;
  server.kill('SIGINT');
  await exited;
  cleanup();
  fail(`createdb ${db} failed: ${(created.stderr || created.stdout).trim().split('\n').pop()}`);
}
console.log(`throwaway-postgres: ready at postgres://parlor@127.0.0.1:${port}/${db} (data in ${dir}; Ctrl-C stops it and removes it)`);
