/**
 * Browser paint benchmark: can a 10 000-node star field be decoded and painted within one 60 Hz
 * frame (16.7 ms)? In real Chromium (Debian's, driven by playwright-core, software rendering as
 * in CI), with the client's own page bundle (`Parlor.SceneMirror` + `Parlor.CanvasRenderer`):
 *
 * - the full frame a player gets when joining a room of 10 000 stars (decode + paint);
 * - a delta frame moving 1 000 of them (decode + paint), what a running star field costs per frame;
 * - interpolation (`Parlor.Interpolator`): deltas arriving at 20 Hz on a timer while the renderer
 *   paints on every animation frame by itself, each paint posing the moving stars between the two
 *   latest frames. Reported per painted frame: the whole `paint()` (pose, draw, restore), the pose
 *   and restore alone, and the per-frame bookkeeping (`Interpolator.frame`, a walk of all nodes),
 *   with 1 000 and with all 10 000 stars moving.
 *
 * Each is timed in the page with `performance.now()` around `mirror.apply(bytes)` and
 * `renderer.paint()` (the canvas 2D calls; rasterisation by the compositor comes after), 30 runs
 * after 5 warm-up runs; the figures are the median and p95 in ms. Writes `bench/PAINT-RESULTS.md`.
 *
 * Run: `npm run bench:paint` at the repository root (builds first).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { Group, Shape, Squisher, messageFor } from '@parlor/squish';

const STARS = 10_000;
const MOVED = 1_000;
const RUNS = 30;
const WARMUP = 5;
const BUDGET_MS = 1000 / 60;
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

/** Frame interval of the interpolated runs, ms (a 20 Hz room). */
const INTERVAL_MS = 50;
/** Frames of an interpolated run (after {@link WARMUP}): about 3 s of a 20 Hz room. */
const INTERP_FRAMES = 60;

/** The star field and the bytes of its full frame and of `count` delta frames, each moving `moved` stars. */
function frames(moved = MOVED, count = RUNS + WARMUP): { full: Uint8Array; deltas: Uint8Array[] } {
  const sky = new Group();
  const stars: Shape[] = [];
  for (let i = 0; i < STARS; i++) {
    const s = new Shape({ shapeType: 'circle', x: (i * 7.919) % 100, y: (i * 3.571) % 100, radius: 0.15 + (i % 5) * 0.05, fill: [255, 255, 255 - (i % 64), 255] });
    stars.push(s);
    sky.addChild(s);
  }
  const sq = new Squisher({ layers: () => [sky] });
  sq.addPlayer(1);
  const full = messageFor(sq.flush(), 1)!;
  const deltas: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    for (let j = 0; j < moved; j++) {
      const s = stars[(k * moved + j) % STARS];
      s.x = (s.x + 0.37) % 100;
    }
    deltas.push(messageFor(sq.flush(), 1)!);
  }
  return { full, deltas };
}

interface Timing {
  decode: number[];
  paint: number[];
}

/** Runs in the page: decodes and paints the full frame `runs + warmup` times, and the deltas in order on one mirror. */
const PAGE_CODE = `({ fullB64, deltaB64, runs, warmup }) => {
  const P = globalThis.Parlor;
  const bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const canvas = document.getElementById('c');
  const fullBytes = bytes(fullB64);
  const deltaBytes = deltaB64.map(bytes);
  const full = { decode: [], paint: [] };
  const delta = { decode: [], paint: [] };
  for (let i = 0; i < runs + warmup; i++) {
    const mirror = new P.SceneMirror();
    const renderer = new P.CanvasRenderer({ canvas, scene: () => mirror.root, aspectRatio: { x: 16, y: 9 } });
    const t0 = performance.now();
    mirror.apply(fullBytes);
    const t1 = performance.now();
    renderer.paint();
    const t2 = performance.now();
    if (i >= warmup) { full.decode.push(t1 - t0); full.paint.push(t2 - t1); }
    if (i === 0) {
      for (let k = 0; k < deltaBytes.length; k++) {
        const d0 = performance.now();
        mirror.apply(deltaBytes[k]);
        const d1 = performance.now();
        renderer.paint();
        const d2 = performance.now();
        if (k >= warmup) { delta.decode.push(d1 - d0); delta.paint.push(d2 - d1); }
      }
    }
    renderer.destroy();
  }
  return { full, delta };
}`;

interface InterpTiming {
  /** ms per painted frame: the renderer's whole paint (pose, draw, restore). */
  paint: number[];
  /** ms per painted frame: pose + restore alone. */
  pose: number[];
  /** ms per arriving frame: Interpolator.frame (the walk of every node). */
  track: number[];
  /** Paints per arriving frame. */
  paintsPerFrame: number;
}

/**
 * Runs in the page: applies the deltas every `intervalMs` on a timer, while the renderer paints
 * by itself on every animation frame (interpolating); times its paints by wrapping `paint`.
 */
const INTERP_CODE = `async ({ fullB64, deltaB64, warmup, intervalMs }) => {
  const P = globalThis.Parlor;
  const bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const canvas = document.getElementById('c');
  const deltaBytes = deltaB64.map(bytes);
  const mirror = new P.SceneMirror();
  const interp = new P.Interpolator();
  interp.setTickRate(1000 / intervalMs);
  const renderer = new P.CanvasRenderer({ canvas, scene: () => mirror.root, aspectRatio: { x: 16, y: 9 }, interpolator: interp });
  const out = { paint: [], pose: [], track: [], paintsPerFrame: 0 };
  let k = -1;
  const paint = renderer.paint.bind(renderer);
  renderer.paint = () => {
    const p0 = performance.now();
    interp.pose(p0);
    interp.restore();
    const p1 = performance.now();
    paint();
    const p2 = performance.now();
    if (k >= warmup) { out.pose.push(p1 - p0); out.paint.push(p2 - p1); }
  };
  mirror.apply(bytes(fullB64));
  interp.frame(mirror.root, true, performance.now());
  renderer.invalidate();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      k++;
      if (k >= deltaBytes.length) { clearInterval(timer); resolve(); return; }
      mirror.apply(deltaBytes[k]);
      const t0 = performance.now();
      interp.frame(mirror.root, false, t0);
      if (k >= warmup) out.track.push(performance.now() - t0);
      renderer.invalidate();
    }, intervalMs);
  });
  renderer.destroy();
  out.paintsPerFrame = out.paint.length / (deltaBytes.length - warmup);
  return out;
}`;

/** Load average over the last minute when the run started: the figures of a shared machine are slower. */
const loadAtStart = loadavg()[0];
const { full, deltas } = frames();
const interpRuns = [MOVED, STARS].map((moved) => ({ moved, ...frames(moved, INTERP_FRAMES + WARMUP) }));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  await page.setContent('<!doctype html><canvas id="c" style="width:1280px;height:720px;display:block"></canvas>');
  await page.addScriptTag({ content: readFileSync(here('../../packages/client/dist/parlor-client.global.js'), 'utf8') });
  const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');
  // The page code is a string: functions compiled by tsx carry helpers the page does not have.
  const result = (await page.evaluate(`(${PAGE_CODE})(${JSON.stringify({ fullB64: b64(full), deltaB64: deltas.map(b64), runs: RUNS, warmup: WARMUP })})`)) as { full: Timing; delta: Timing };
  const interp: { moved: number; t: InterpTiming }[] = [];
  for (const run of interpRuns) {
    const arg = JSON.stringify({ fullB64: b64(run.full), deltaB64: run.deltas.map(b64), warmup: WARMUP, intervalMs: INTERVAL_MS });
    interp.push({ moved: run.moved, t: (await page.evaluate(`(${INTERP_CODE})(${arg})`)) as InterpTiming });
  }
  const q = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * (xs.length - 1)))];
  const row = (name: string, bytesLen: number, t: Timing): string => {
    const total = t.decode.map((d, i) => d + t.paint[i]);
    return `| ${name} | ${(bytesLen / 1024).toFixed(0)} KiB | ${q(t.decode, 0.5).toFixed(2)} | ${q(t.paint, 0.5).toFixed(2)} | ${q(total, 0.5).toFixed(2)} / ${q(total, 0.95).toFixed(2)} | ${q(total, 0.95) <= BUDGET_MS ? 'yes' : 'no'} |`;
  };
  const mp = (xs: number[]): string => `${q(xs, 0.5).toFixed(2)} / ${q(xs, 0.95).toFixed(2)}`;
  const interpRow = ({ moved, t }: { moved: number; t: InterpTiming }): string =>
    `| ${moved.toLocaleString('en')} of ${STARS.toLocaleString('en')} | ${t.paint.length} | ${t.paintsPerFrame.toFixed(1)} | ${mp(t.paint)} | ${mp(t.pose)} | ${mp(t.track)} | ${q(t.paint, 0.95) <= BUDGET_MS ? 'yes' : 'no'} |`;
  const version = await browser.version();
  const out = [
    '# Browser: decode and paint a 10 000-node star field',
    '',
    `Written by \`npm run bench:paint\` (bench/src/paint.bench.ts) on ${new Date().toISOString().slice(0, 10)}: Chromium ${version}, headless, software rendering (\`--disable-gpu\`), 1280×720 canvas; load average ${loadAtStart.toFixed(1)} on ${availableParallelism()} cores when it started${loadAtStart > availableParallelism() / 2 ? ' (a shared, busy machine: the figures are slower than on a quiet one)' : ''}.`,
    '',
    `${STARS} stars (circles) in one group; the full frame a joining player gets, and delta frames each moving ${MOVED} stars. Timed in the page around \`SceneMirror.apply\` (decode) and \`CanvasRenderer.paint\` (canvas 2D calls), ${RUNS} runs after ${WARMUP} warm-up; ms.`,
    '',
    '| frame | bytes | decode (median) | paint (median) | decode + paint (median / p95) | within one 60 Hz frame (16.7 ms) at p95 |',
    '| --- | --: | --: | --: | --: | --- |',
    row('full (join)', full.byteLength, result.full),
    row(`delta (${MOVED} moved)`, deltas[WARMUP].byteLength, result.delta),
    '',
    '## Interpolated rendering (the client at the display rate)',
    '',
    `The same star field at ${1000 / INTERVAL_MS} frames a second (deltas applied on a ${INTERVAL_MS} ms timer, ${INTERP_FRAMES} frames after ${WARMUP} warm-up) while the renderer, given an \`Interpolator\`, paints by itself on every animation frame, posing the moving stars between the two latest frames. *paint per rAF* is the whole \`CanvasRenderer.paint\` (pose, canvas 2D calls, restore); *pose + restore* is that part alone; *frame bookkeeping* is \`Interpolator.frame\` per arriving frame (it reads every node). ms, median / p95.`,
    '',
    '| stars moving per frame | paints | paints per frame | paint per rAF (median / p95) | pose + restore (median / p95) | frame bookkeeping (median / p95) | paint within 16.7 ms at p95 |',
    '| --- | --: | --: | --: | --: | --: | --- |',
    ...interp.map(interpRow),
    '',
  ].join('\n');
  writeFileSync(here('../PAINT-RESULTS.md'), out);
  process.stdout.write(`${out}\n`);
} finally {
  await browser.close();
}
