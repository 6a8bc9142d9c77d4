/**
 * Summarises a `.cpuprofile` written by the fan-out bench (`FANOUT_PROFILE`, see probe.ts): the
 * functions with the most self time, as a share of the samples, and the inclusive share of a few
 * entry points named on the command line.
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
process.stdout.write(`${file}: ${(total / 1000).toFixed(0)} ms sampled\n\nself time:\n`);
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
