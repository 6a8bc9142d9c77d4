import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Kernel-enforced limits for the `process` runtime's sandboxes: one cgroup (v1) per room, under a
 * parent owned by one runtime instance, nested under this host process's own cgroup in each
 * hierarchy (`<mount>/<own cgroup>/parlor/<instance>/<room>`), so the rooms are also charged to
 * whatever limits the host itself runs under.
 *
 * Controllers used: `memory` (limit covers the V8 heap and everything else the process maps —
 * `Buffer`s, WebAssembly memories, thread stacks; swap is limited to the same amount when
 * `memsw` exists), `pids` (processes and threads), `cpu` (CFS quota) and `cpuacct` (the room's CPU
 * clock). cgroup v2-only hosts are not supported: the runtime refuses to start there.
 */

/** The cgroup v1 controllers a room needs. */
export const CGROUP_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct'] as const;
type Controller = (typeof CGROUP_CONTROLLERS)[number];

/** Limits of one room's cgroup. */
export interface CgroupLimits {
  /** Memory limit of the whole sandbox (all its processes), in bytes. */
  memoryBytes: number;
  /** Most tasks (processes and threads) in the sandbox. */
  pidsMax: number;
  /** CPU quota in cores (1 = one full core; CFS period 100 ms). */
  cpuCores: number;
}

/** Where each controller's hierarchy lives for this process (the directory of our own cgroup). */
interface Hierarchy {
  controllers: Controller[];
  /** `<mount point>/<own cgroup path>`. */
  base: string;
}

/** Result of {@link probeCgroups}: the hierarchies, or what is missing. */
export type CgroupProbe = { ok: true; hierarchies: Hierarchy[] } | { ok: false; missing: string };

/**
 * Finds the cgroup v1 hierarchies of `memory`, `pids`, `cpu` and `cpuacct` and checks that this
 * process may create cgroups in them (root, writable cgroupfs).
 */
export function probeCgroups(): CgroupProbe {
  if (process.platform !== 'linux') return { ok: false, missing: 'cgroups (Linux only)' };
  let mountinfo: string;
  let own: string;
  try {
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    own = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return { ok: false, missing: 'cgroups (/proc/self/mountinfo is unreadable)' };
  }
  // mountinfo: id parent major:minor root mountpoint options - fstype source superoptions
  const mounts = new Map<Controller, { root: string; point: string; controllers: Controller[] }>();
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const [fstype, , superOpts] = right.split(' ');
    if (fstype !== 'cgroup' || !superOpts) continue;
    const opts = superOpts.split(',');
    const controllers = CGROUP_CONTROLLERS.filter((c) => opts.includes(c));
    for (const c of controllers) if (!mounts.has(c)) mounts.set(c, { root: unescapeMount(f[3]), point: unescapeMount(f[4]), controllers });
  }
  const missing = CGROUP_CONTROLLERS.filter((c) => !mounts.has(c));
  if (missing.length) {
    return { ok: false, missing: `cgroup v1 controllers ${missing.join(', ')} (none mounted under /sys/fs/cgroup; cgroup v2-only hosts are not supported by the process runtime)` };
  }
  // /proc/self/cgroup: id:controller,list:path
  const ownPath = new Map<Controller, string>();
  for (const line of own.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const c of m[1].split(',')) if ((CGROUP_CONTROLLERS as readonly string[]).includes(c)) ownPath.set(c as Controller, m[2]);
  }
  const byPoint = new Map<string, Hierarchy>();
  for (const c of CGROUP_CONTROLLERS) {
    const mnt = mounts.get(c)!;
    const path = ownPath.get(c) ?? '/';
    const rel = mnt.root === '/' ? path : path.startsWith(mnt.root) ? path.slice(mnt.root.length) : '/';
    const base = join(mnt.point, rel);
    const h = byPoint.get(base);
    if (h) h.controllers.push(c);
    else byPoint.set(base, { controllers: [c], base });
  }
  const hierarchies = [...byPoint.values()];
  for (const h of hierarchies) {
    const probe = join(h.base, `parlor-probe-${process.pid}`);
    try {
      mkdirSync(probe);
      rmdirSync(probe);
    } catch (err) {
      return { ok: false, missing: `permission to create cgroups in ${h.base} (${(err as NodeJS.ErrnoException).code ?? 'error'}; run the server as root)` };
    }
  }
  return { ok: true, hierarchies };
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function readNum(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The cgroups of one runtime instance: `<base>/parlor/<instance>` in every hierarchy. */
export class CgroupTree {
  private readonly dirs: string[];
  private seq = 0;
  private readonly live = new Set<RoomCgroup>();

  constructor(
    private readonly hierarchies: Hierarchy[],
    readonly instance: string,
  ) {
    this.dirs = hierarchies.map((h) => join(h.base, 'parlor', instance));
    for (const h of hierarchies) sweepStale(join(h.base, 'parlor'));
    for (const d of this.dirs) {
      try {
        mkdirSync(d, { recursive: true });
      } catch {
        mkdirSync(d, { recursive: true }); // another instance removed an empty `parlor/` meanwhile
      }
    }
  }

  /** Creates the cgroup of one sandbox with its limits. @throws the `mkdir`/write error. */
  create(limits: CgroupLimits): RoomCgroup {
    const name = `room-${++this.seq}`;
    const room: RoomCgroup = new RoomCgroup(
      this.hierarchies.map((h, i) => ({ controllers: h.controllers, base: join(this.dirs[i], name) })),
      limits,
      (r) => this.live.delete(r),
    );
    this.live.add(room);
    return room;
  }

  /** Removes every room cgroup (killing what is left in them) and the instance's own directory. */
  async close(): Promise<void> {
    await Promise.all([...this.live].map((r) => r.remove()));
    for (const d of this.dirs) {
      for (const dir of [d, dirname(d)]) {
        try {
          rmdirSync(dir); // the instance's directory, then `parlor/` when no other instance uses it
        } catch {
          // still busy (another instance) or gone: a later instance's sweep removes it
        }
      }
    }
  }
}

/** Removes empty instance directories left by hosts that are gone (`<pid>-…` of a dead pid). */
function sweepStale(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(/^(\d+)-/.exec(n)?.[1]);
    if (!pid || existsSync(`/proc/${pid}`)) continue;
    const dir = join(parent, n);
    try {
      for (const r of readdirSync(dir, { withFileTypes: true })) if (r.isDirectory()) rmdirSync(join(dir, r.name));
      rmdirSync(dir);
    } catch {
      // busy (processes still in it) or not ours to remove
    }
  }
}

/** One sandbox's cgroup (one directory per hierarchy). */
export class RoomCgroup {
  private removed = false;
  private lastCpuMs: number | undefined;
  private oomAtRemoval = false;

  constructor(
    private readonly parts: Hierarchy[],
    readonly limits: CgroupLimits,
    private readonly onRemoved: (self: RoomCgroup) => void,
  ) {
    try {
      for (const p of parts) mkdirSync(p.base, { recursive: true });
      const mem = this.dir('memory');
      writeFileSync(join(mem, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      if (existsSync(join(mem, 'memory.memsw.limit_in_bytes'))) writeFileSync(join(mem, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
      writeFileSync(join(this.dir('pids'), 'pids.max'), String(limits.pidsMax));
      const cpu = this.dir('cpu');
      writeFileSync(join(cpu, 'cpu.cfs_period_us'), '100000');
      writeFileSync(join(cpu, 'cpu.cfs_quota_us'), String(Math.max(1000, Math.round(limits.cpuCores * 100_000))));
    } catch (err) {
      this.removeNow();
      throw err;
    }
  }

  private dir(c: Controller): string {
    return this.parts.find((p) => p.controllers.includes(c))!.base;
  }

  /** The `cgroup.procs` files a process must write its pid to (one per hierarchy). */
  get procsFiles(): string[] {
    return this.parts.map((p) => join(p.base, 'cgroup.procs'));
  }

  /** CPU time (user + system) used by every process of the sandbox so far, in ms (cpuacct). */
  cpuTimeMs(): number | undefined {
    if (!this.removed) {
      const ns = readNum(join(this.dir('cpuacct'), 'cpuacct.usage'));
      if (ns !== undefined) this.lastCpuMs = ns / 1e6;
    }
    return this.lastCpuMs;
  }

  /** Whether the kernel's OOM killer killed a process of this sandbox (memory limit reached). */
  oomKilled(): boolean {
    if (this.removed) return this.oomAtRemoval;
    try {
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(this.dir('memory'), 'memory.oom_control'), 'utf8'));
      if (m) return Number(m[1]) > 0;
    } catch {
      return false;
    }
    return false; // old kernel without oom_kill: unknown
  }

  /** Peak memory use of the sandbox so far (bytes), when known. */
  maxMemoryBytes(): number | undefined {
    return this.removed ? undefined : readNum(join(this.dir('memory'), 'memory.max_usage_in_bytes'));
  }

  /** The pids (host view) of every process still in the cgroup. */
  pids(): number[] {
    const out = new Set<number>();
    for (const f of this.procsFiles) {
      try {
        for (const l of readFileSync(f, 'utf8').split('\n')) if (l.trim()) out.add(Number(l));
      } catch {
        // gone
      }
    }
    return [...out].filter((p) => p > 0);
  }

  /** SIGKILLs every process still in the cgroup. */
  killAll(): void {
    for (const pid of this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /**
   * Kills what is left and removes the directories (retrying while the kernel still counts
   * exiting tasks, up to ~2 s). Never throws.
   */
  async remove(): Promise<void> {
    if (this.removed) return;
    this.cpuTimeMs();
    this.oomAtRemoval = this.oomKilled();
    for (let attempt = 0; attempt < 40; attempt++) {
      this.killAll();
      if (this.tryRmdir()) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    this.removed = true;
    this.onRemoved(this);
  }

  private removeNow(): void {
    this.tryRmdir();
    this.removed = true;
    this.onRemoved(this);
  }

  private tryRmdir(): boolean {
    let all = true;
    for (const p of this.parts) {
      try {
        rmdirSync(p.base);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') all = false;
      }
    }
    return all;
  }
}
