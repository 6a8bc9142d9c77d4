/**
 * Browser paint benchmark: can a 10 000-node star field be decoded and painted within one 60 Hz
 * frame (16.7 ms)? In real Chromium (Debian's, driven by playwright-core, software rendering as
 * in CI), with the client's own page bundle (`Parlor.SceneMirror` + `Parlor.CanvasRenderer`):
 *
 * - the full frame a player gets when joining a room of 10 000 stars (decode + paint);
 * - a delta frame moving 1 000 of them (decode + paint), what a running star field costs per frame.
 *
 * Each is timed in the page with `performance.now()` around `mirror.apply(bytes)` and
 * `renderer.paint()` (the canvas 2D calls; rasterisation by the compositor comes after), 30 runs
 * after 5 warm-up runs; the figures are the median and p95 in ms. Writes `bench/PAINT-RESULTS.md`.
 *
 * Run: `npm run bench:paint` at the repository root (builds first).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { Group, Shape, Squisher, messageFor } from '@parlor/squish';

const STARS = 10_000;
const MOVED = 1_000;
const RUNS = 30;
const WARMUP = 5;
const BUDGET_MS = 1000 / 60;
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

/** The star field and the bytes of its full frame and of one delta frame moving {@link MOVED} stars. */
function frames(): { full: Uint8Array; deltas: Uint8Array[] } {
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
  for (let k = 0; k < RUNS + WARMUP; k++) {
    for (let j = 0; j < MOVED; j++) {
      const s = stars[(k * MOVED + j) % STARS];
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

const { full, deltas } = frames();
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
  const q = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * (xs.length - 1)))];
  const row = (name: string, bytesLen: number, t: Timing): string => {
    const total = t.decode.map((d, i) => d + t.paint[i]);
    return `| ${name} | ${(bytesLen / 1024).toFixed(0)} KiB | ${q(t.decode, 0.5).toFixed(2)} | ${q(t.paint, 0.5).toFixed(2)} | ${q(total, 0.5).toFixed(2)} / ${q(total, 0.95).toFixed(2)} | ${q(total, 0.95) <= BUDGET_MS ? 'yes' : 'no'} |`;
  };
  const version = await browser.version();
  const out = [
    '# Browser: decode and paint a 10 000-node star field',
    '',
    `Written by \`npm run bench:paint\` (bench/src/paint.bench.ts) on ${new Date().toISOString().slice(0, 10)}: Chromium ${version}, headless, software rendering (\`--disable-gpu\`), 1280×720 canvas.`,
    '',
    `${STARS} stars (circles) in one group; the full frame a joining player gets, and delta frames each moving ${MOVED} stars. Timed in the page around \`SceneMirror.apply\` (decode) and \`CanvasRenderer.paint\` (canvas 2D calls), ${RUNS} runs after ${WARMUP} warm-up; ms.`,
    '',
    '| frame | bytes | decode (median) | paint (median) | decode + paint (median / p95) | within one 60 Hz frame (16.7 ms) at p95 |',
    '| --- | --: | --: | --: | --: | --- |',
    row('full (join)', full.byteLength, result.full),
    row(`delta (${MOVED} moved)`, deltas[WARMUP].byteLength, result.delta),
    '',
  ].join('\n');
  writeFileSync(here('../PAINT-RESULTS.md'), out);
  process.stdout.write(`${out}\n`);
} finally {
  await browser.close();
}
