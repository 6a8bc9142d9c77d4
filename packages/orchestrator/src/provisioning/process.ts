/**
 * The process provisioner: game server instances as `parlor serve` child processes on this
 * machine. The simplest engine there is (no Docker, no cluster), for one machine, development and
 * the tests; Docker Swarm and Kubernetes do the same on more machines.
 *
 * Each instance is one detached child (its own process group, so it outlives the orchestrator and
 * a kill -9 of it) with its output in `<dir>/<id>.log`, a pid file `<dir>/<id>.pid` (the pid
 * alone: with the orchestrator stopped, `kill $(cat <dir>/*.pid)` stops them all, each draining first) and its record
 * `<dir>/<id>.json` (pid, start time, state): a restarted orchestrator's
 * {@link ProcessProvisioner.list} finds the instances still alive from those records, so it counts
 * them and never starts duplicates beyond `maxInstances`. The record is written before the spawn
 * and completed with the pid right after: one left without a pid (the orchestrator was killed in
 * between) is resolved by the instance's `parlor.provisioned-id` label in the process table, or
 * dropped when no such process exists. The agent key is written to `<dir>/agent.key` (mode 0600)
 * and passed as `--fleet-key-file`, never on a command line.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { PROVISIONED_ID_LABEL, PROVISIONER_LABEL, type ProvisionedInstance, type Provisioner, type ServerTemplate } from './types.js';

/** Options of {@link ProcessProvisioner}. */
export interface ProcessProvisionerOptions {
  /** What every instance runs. `template.command` defaults to {@link defaultServeCommand}. */
  template: ServerTemplate;
  /** Folder of the pid files, the records, the key file and the logs (created, mode 0700). One orchestrator per folder. */
  dir: string;
  /** After SIGTERM, how long an instance may take to exit before it gets SIGKILL (its whole process group), ms. Default 60 000. */
  stopTimeoutMs?: number;
}

/** What an instance's record (`<id>.json`) holds. */
interface PidRecord {
  id: string;
  /** `null` in the record written just before the spawn (an orchestrator killed in between left only that: see {@link findByLabel}). */
  pid: number | null;
  /** ms since the epoch it was started. */
  startedAt: number;
  /** The process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22), so a reused pid is not taken for it. */
  procStart: number | null;
  /** `stopping` once a stop was asked (kept across orchestrator restarts). */
  state: 'running' | 'stopping';
}

/** How long a record written just before a spawn, with no process found, is taken for a spawn in progress (ms). */
const SPAWN_GRACE_MS = 10_000;

/** The name of the key file in the provisioner's folder. */
export const PROCESS_KEY_FILE = 'agent.key';

/**
 * The argv that runs `parlor serve` from the `@parlor/server` installed beside this package:
 * `[process.execPath, <@parlor/server>/bin/parlor.js, 'serve']`.
 * @throws {Error} (one line) when `@parlor/server` cannot be found: install it, or give the template a `command`.
 */
export function defaultServeCommand(): string[] {
  const bases: string[] = [];
  // ESM: this module's URL; the CommonJS build has no import.meta but a __filename.
  if (typeof __filename === 'string') bases.push(__filename);
  else bases.push(import.meta.url);
  bases.push(join(process.cwd(), 'noop.js'));
  for (const base of bases) {
    let entry: string;
    try {
      entry = createRequire(base).resolve('@parlor/server');
    } catch {
      continue;
    }
    for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
      const pkgFile = join(dir, 'package.json');
      if (!existsSync(pkgFile)) continue;
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { name?: string; bin?: string | Record<string, string> };
      if (pkg.name !== '@parlor/server') continue;
      const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.parlor;
      if (bin) return [process.execPath, resolve(dir, bin), 'serve'];
      break;
    }
  }
  throw new Error('cannot find the parlor command: install @parlor/server beside @parlor/orchestrator (npm install @parlor/server), or give the server template a command');
}

/** The start time of a live, non-zombie process (clock ticks since boot), `null` where /proc has none; `undefined` when it is gone. */
function procStart(pid: number): number | null | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && existsSync('/proc/self/stat')) return undefined;
    try {
      process.kill(pid, 0);
      return null;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM' ? null : undefined;
    }
  }
  // "pid (comm) state ppid … starttime(22)": comm may hold spaces and parentheses, so split after the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // exited, not yet reaped
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : null;
}

/**
 * Starts and stops `parlor serve` processes on this machine. Each gets the template's command
 * (default {@link defaultServeCommand}) and `args`, then `--fleet-url`, `--fleet-key-file <dir>/agent.key`,
 * `--label parlor.provisioner=process`, `--label parlor.provisioned-id=<id>`, the template's labels
 * as `--label k=v`, `--max-rooms <capacity>`, `--port 0` (each instance listens on a free port and
 * its agent reports the URL), `--name <id>` and `--instance-id <id>` (its own docker containers, if
 * it runs rooms in docker). Its environment is this process's without the `PARLOR_*` variables and
 * `PORT` (the orchestrator's keys are never inherited), plus the template's `env`.
 */
export class ProcessProvisioner implements Provisioner {
  /** `process`. */
  readonly name = 'process';
  private readonly dir: string;
  private readonly template: ServerTemplate;
  private readonly stopTimeoutMs: number;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  /** @throws {Error} when the folder cannot be created. */
  constructor(options: ProcessProvisionerOptions) {
    this.template = options.template;
    this.dir = resolve(options.dir);
    this.stopTimeoutMs = options.stopTimeoutMs ?? 60_000;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Spawns `count` instances; each one's record and pid file are written before this returns to the event
   * loop, so a kill -9 of the orchestrator right after still leaves it counted.
   * @throws {Error} when the command cannot be found or spawned (the instances started before it stay).
   */
  async start(count: number): Promise<ProvisionedInstance[]> {
    const command = this.template.command && this.template.command.length > 0 ? this.template.command : defaultServeCommand();
    const keyFile = join(this.dir, PROCESS_KEY_FILE);
    writeFileSync(keyFile, `${this.template.agentKey}\n`, { mode: 0o600 }); // the key in force now (a rotation is picked up)
    const out: ProvisionedInstance[] = [];
    for (let n = 0; n < count; n++) out.push(this.spawnOne(command, keyFile));
    return out;
  }

  private spawnOne(command: string[], keyFile: string): ProvisionedInstance {
    const id = `proc-${randomBytes(5).toString('hex')}`;
    const t = this.template;
    const args = [
      ...command.slice(1),
      ...(t.args ?? []),
      '--fleet-url', t.fleetUrl,
      '--fleet-key-file', keyFile,
      '--label', `${PROVISIONER_LABEL}=${this.name}`,
      '--label', `${PROVISIONED_ID_LABEL}=${id}`,
      ...Object.entries(t.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
      '--max-rooms', String(t.capacity),
      '--port', '0',
      '--name', id,
      '--instance-id', id,
    ];
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PARLOR_') && k !== 'PORT') env[k] = v;
    Object.assign(env, t.env);
    const log = openSync(join(this.dir, `${id}.log`), 'a', 0o600);
    const startedAt = Date.now();
    // recorded before the spawn: an orchestrator killed between the spawn and the pid's record still leaves a trace of it
    this.writeRecord({ id, pid: null, startedAt, procStart: null, state: 'running' });
    let pid: number | undefined;
    try {
      const child = spawn(command[0]!, args, { detached: true, stdio: ['ignore', log, log], env, cwd: process.cwd() });
      pid = child.pid;
      if (pid === undefined) {
        this.remove(id);
        throw new Error(`cannot start ${command[0]}: spawn failed (is the command installed?)`);
      }
      child.unref();
      child.on('error', () => undefined);
      // gone while this process lives: its files go with it
      child.once('exit', () => this.forget(id, pid!));
    } finally {
      closeSync(log);
    }
    this.writeRecord({ id, pid, startedAt, procStart: procStart(pid) ?? null, state: 'running' });
    return { id, state: 'running', startedAt };
  }

  /**
   * Sends SIGTERM to the instance (the host drains and saves, then exits), and SIGKILL to its
   * process group if it is still there after `stopTimeoutMs`. Resolves once SIGTERM is sent.
   * @throws {Error} when `id` is not one of its live instances.
   */
  async stop(id: string): Promise<void> {
    const rec = this.alive().find((r) => r.id === id);
    if (!rec) throw new Error(`no provisioned process ${id} (already gone?)`);
    if (rec.pid === null) throw new Error(`provisioned process ${id} is still starting`);
    const pid = rec.pid!;
    if (rec.state !== 'stopping') this.writeRecord({ ...rec, state: 'stopping' });
    signal(pid, 'SIGTERM');
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.isAlive(rec)) signal(-pid, 'SIGKILL');
    }, this.stopTimeoutMs);
    timer.unref?.();
    this.timers.add(timer);
  }

  /** The live instances of the records (a dead one's record and pid file are removed; its log is kept). */
  async list(): Promise<ProvisionedInstance[]> {
    return this.alive().map((r) => ({ id: r.id, state: r.pid === null ? 'starting' : r.state, startedAt: r.startedAt }));
  }

  /** Forgets the pending SIGKILL timers; the instances keep running. */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private alive(): PidRecord[] {
    const out: PidRecord[] = [];
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return out;
    }
    const unresolved: PidRecord[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      let rec: PidRecord;
      try {
        rec = JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as PidRecord;
      } catch {
        continue; // not ours
      }
      if (typeof rec.id !== 'string' || (rec.pid !== null && typeof rec.pid !== 'number')) continue;
      if (rec.pid === null) unresolved.push(rec);
      else if (this.isAlive(rec)) out.push(rec);
      else this.forget(rec.id, rec.pid);
    }
    // spawned by an orchestrator killed before it recorded the pid: found by its label, else never started
    if (unresolved.length > 0) {
      const found = findByLabel(unresolved.map((r) => r.id));
      for (const rec of unresolved) {
        const pid = found.get(rec.id);
        if (pid === undefined) {
          // a spawn in progress (another lister of this folder may be between its two writes), or one that never happened
          if (Date.now() - rec.startedAt < SPAWN_GRACE_MS) out.push(rec);
          else this.remove(rec.id);
          continue;
        }
        const full = { ...rec, pid, procStart: procStart(pid) ?? null };
        this.writeRecord(full);
        out.push(full);
      }
    }
    return out.sort((a, b) => a.startedAt - b.startedAt);
  }

  private isAlive(rec: PidRecord): boolean {
    if (rec.pid === null) return false;
    const start = procStart(rec.pid);
    if (start === undefined) return false;
    return rec.procStart === null || start === null || start === rec.procStart;
  }

  private forget(id: string, pid: number): void {
    const file = join(this.dir, `${id}.json`);
    try {
      const rec = JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
      if (rec.pid !== pid) return;
      this.remove(id);
    } catch {
      // already gone
    }
  }

  private remove(id: string): void {
    rmSync(join(this.dir, `${id}.pid`), { force: true });
    rmSync(join(this.dir, `${id}.json`), { force: true });
  }

  private writeRecord(rec: PidRecord): void {
    const file = join(this.dir, `${rec.id}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(rec), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
    if (rec.pid !== null) writeFileSync(join(this.dir, `${rec.id}.pid`), `${rec.pid}\n`, { mode: 0o600 });
  }
}

/**
 * The pids of live processes whose command line holds `--label parlor.provisioned-id=<id>`, by id:
 * from `/proc/<pid>/cmdline` on Linux, else from `ps -axo pid=,args=`.
 */
function findByLabel(ids: string[]): Map<string, number> {
  const wanted = new Map(ids.map((id) => [`${PROVISIONED_ID_LABEL}=${id}`, id]));
  const out = new Map<string, number>();
  const match = (pid: number, args: string[]): void => {
    for (const a of args) {
      const id = wanted.get(a);
      if (id !== undefined && procStart(pid) !== undefined) out.set(id, pid);
    }
  };
  if (existsSync('/proc/self/cmdline')) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        match(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0'));
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }
  try {
    for (const line of execFileSync('ps', ['-axo', 'pid=,args='], { encoding: 'utf8' }).split('\n')) {
      const m = /^\s*(\d+)\s+(.*)$/.exec(line);
      if (m) match(Number(m[1]), m[2]!.split(/\s+/));
    }
  } catch {
    // no ps: the record is dropped as never started
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
