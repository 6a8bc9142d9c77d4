/**
 * Summarises a `.cpuprofile` written by the fan-out bench (`FANOUT_PROFILE`, see probe.ts): the
 * busy time by category (as a share of the samples that were neither idle nor the profiler's own
 * `Profiler.stop`), the functions with the most self time (as a share of all samples), and the
 * inclusive share of a few entry points named on the command line.
 *
 * Run: `node --import tsx src/fanout/profile-summary.ts <file.cpuprofile> [top=25] [name…]`
 * (in bench/).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg, ...names] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary.ts <file.cpuprofile> [top] [function names…]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const top = Number(topArg ?? 25);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const self = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const label = (n: ProfileNode): string => {
  const url = n.callFrame.url.replace(/^.*\/(node_modules|packages|src)\//, '$1/');
  return `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
};

const selfByLabel = new Map<string, number>();
for (const [id, t] of self) {
  const l = label(byId.get(id)!);
  selfByLabel.set(l, (selfByLabel.get(l) ?? 0) + t);
}
const pct = (t: number): string => `${((t / total) * 100).toFixed(1)}%`;

/** Where a function's self time goes, by what it is. */
function category(n: ProfileNode): string | null {
  const { functionName: fn, url } = n.callFrame;
  if (fn === '(idle)' || fn === 'dispatch') return null; // idle, and the inspector's Profiler.stop
  if (fn === 'writeBuffer' || fn === 'writev') return 'socket writes: native call and the kernel (write system call, loopback TCP)';
  if (fn === '(garbage collector)') return 'garbage collection';
  if (url.includes('squish/dist')) return 'Squisher (flush, encode)';
  if (url.includes('server/dist/index')) return 'Parlor host: rooms, fan-out loop, frame writer';
  if (url.includes('server/dist/chunk')) return 'Parlor engine: ticks, scheduler, inline runtime';
  if (url.includes('node_modules/ws/')) return 'ws (getters, receiver)';
  if (url.includes('prom-client')) return 'metrics (prom-client)';
  if (url.startsWith('node:internal/streams') || url === 'node:net' || url.includes('stream_base_commons') || fn === 'WriteWrap') return 'Node stream write path (Writable, net.Socket)';
  if (url.startsWith('node:')) return 'Node runtime: timers, microtasks, other';
  if (url.includes('fanout/')) return 'bench game and probe';
  return 'other (native, builtins)';
}
const cats = new Map<string, number>();
let busy = 0;
for (const [id, t] of self) {
  const c = category(byId.get(id)!);
  if (c === null) continue;
  busy += t;
  cats.set(c, (cats.get(c) ?? 0) + t);
}
process.stdout.write(`${file}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy\n\nbusy time by category:\n`);
for (const [c, t] of [...cats].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${`${((t / busy) * 100).toFixed(1)}%`.padStart(6)}  ${c}\n`);
process.stdout.write('\nself time (share of all samples):\n');
for (const [l, t] of [...selfByLabel].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(t).padStart(6)}  ${l}\n`);

if (names.length) {
  process.stdout.write('\ninclusive time (each sample counted once per name):\n');
  for (const name of names) {
    let t = 0;
    for (const [id, dt] of self) {
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        if (byId.get(cur)!.callFrame.functionName === name) {
          t += dt;
          break;
        }
      }
    }
    process.stdout.write(`  ${pct(t).padStart(6)}  ${name}\n`);
  }
}
