/**
 * Codec benchmark: Parlor's squish codec against squishjs@1.3.5 (Homegames), @colyseus/schema 5,
 * JSON and msgpackr, on the same scenes, in one run. Writes `bench/RESULTS.md` and prints the tables.
 *
 * Run: `npm run bench -w @parlor/bench` (= `node --expose-gc --import tsx src/codec.bench.ts` in bench/).
 * `@parlor/squish` resolves to the built package (`packages/squish/dist`, via the workspace link and
 * its `exports`); `bench/tsconfig.json` has no `paths`, so tsx does not redirect it to the sources.
 * Build it first: `npm run build -w @parlor/squish` (the root `npm run bench` does).
 */
import os from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Decoder, Encoder, TypeContext, schema, t, type Schema } from '@colyseus/schema';
import { pack, unpack } from 'msgpackr';
import type * as ParlorSquish from '@parlor/squish';

const require = createRequire(import.meta.url);
// squishjs is CommonJS without type declarations.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const sjs: any = require('squishjs');
/** The installed version of a dependency (its package.json, found upwards from its entry point). */
function pkgVersion(name: string): string {
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    const f = path.join(dir, 'package.json');
    if (existsSync(f)) {
      const j = JSON.parse(readFileSync(f, 'utf8')) as { name?: string; version?: string };
      if (j.name === name && j.version) return j.version;
    }
    const up = path.dirname(dir);
    if (up === dir) return '?';
    dir = up;
  }
}
const SQUISHJS_VERSION = pkgVersion('squishjs');
const COLYSEUS_VERSION = pkgVersion('@colyseus/schema');
const MSGPACKR_VERSION = pkgVersion('msgpackr');

const RESULTS_PATH = fileURLToPath(new URL('../RESULTS.md', import.meta.url));
const SIZES = [100, 1_000, 10_000];
const BATCHES = 3;
/** Each timed batch runs at least this long; 3 batches => >= 1 s of timing per case. */
const BATCH_MS = 350;
const WARMUP_MS = 150;

// ------------------------------------------------------------------ utilities

/** mulberry32: small deterministic PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const round2 = (v: number): number => Math.round(v * 100) / 100;
const utf8 = new TextEncoder();
const utf8d = new TextDecoder();
const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {});
let sink = 0;
const consume = (v: unknown): void => {
  if (v && typeof v === 'object' && 'length' in v) sink += (v as { length: number }).length;
  else sink++;
};

function concat(parts: readonly ArrayLike<number>[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`codec bench sanity check failed: ${msg}`);
}

/** An operations-per-second figure, filled in by {@link runTimers}. */
interface Rate { ops: number }
interface Timer { fn: () => unknown; rate: Rate; n: number; rates: number[] }
let pending: Timer[] = [];

/** Registers `fn` to be timed; the returned rate is filled in by the next {@link runTimers}. */
function opsPerSec(fn: () => unknown): Rate {
  const rate: Rate = { ops: NaN };
  pending.push({ fn, rate, n: 0, rates: [] });
  return rate;
}

/** Warm-up, then calibrate a batch size so one batch of `fn` takes >= BATCH_MS. */
function warmUp(t: Timer): void {
  let calls = 0;
  const w0 = performance.now();
  while (calls < 3 || performance.now() - w0 < WARMUP_MS) {
    consume(t.fn());
    calls++;
  }
  const perCallMs = (performance.now() - w0) / calls;
  t.n = Math.max(1, Math.ceil(BATCH_MS / Math.max(perCallMs, 1e-6)));
}

function batch(t: Timer): void {
  gc();
  let iters = 0;
  const t0 = process.hrtime.bigint();
  let t1 = t0;
  // n calls, and more until the batch lasted BATCH_MS (the calibration may be off)
  do {
    for (let i = 0; i < t.n; i++) consume(t.fn());
    iters += t.n;
    t1 = process.hrtime.bigint();
  } while (Number(t1 - t0) / 1e6 < BATCH_MS);
  t.rates.push(iters / (Number(t1 - t0) / 1e9));
}

/**
 * Times every registered case: each is warmed up, then BATCHES batches are run round-robin over
 * all cases (so background load on the machine spreads evenly over the codecs compared), timed
 * with process.hrtime.bigint; each case gets the median of its batch rates.
 */
function runTimers(): void {
  const timers = pending;
  pending = [];
  for (let b = 0; b < BATCHES; b++) {
    for (const t of timers) {
      if (b === 0) warmUp(t);
      batch(t);
    }
  }
  for (const t of timers) {
    t.rates.sort((a, b) => a - b);
    t.rate.ops = t.rates[Math.floor(t.rates.length / 2)];
  }
}

// ------------------------------------------------------------------ the scene (codec-neutral)

type RGBA = [number, number, number, number];
interface RectSpec { kind: 'rect'; id: number; x: number; y: number; w: number; h: number; color: RGBA }
interface TextSpec { kind: 'text'; id: number; x: number; y: number; text: string; size: number; color: RGBA }
type Spec = RectSpec | TextSpec;
interface Move { index: number; dx: number; dy: number }

const packRGBA = (c: RGBA): number => ((c[0] << 24) | (c[1] << 16) | (c[2] << 8) | c[3]) >>> 0;

/** N nodes: every 10th is a text, the rest rectangles; positions/sizes in the 0–100 plane, 0.01 precision. */
function makeScene(n: number): Spec[] {
  const r = rng(0x5eed + n);
  const color = (): RGBA => [Math.floor(r() * 256), Math.floor(r() * 256), Math.floor(r() * 256), 255];
  const specs: Spec[] = [];
  for (let i = 0; i < n; i++) {
    const id = i + 1;
    if (i % 10 === 9) {
      const text = `Player ${1 + Math.floor(r() * 64)}: ${Math.floor(r() * 1000)}`;
      specs.push({ kind: 'text', id, x: round2(r() * 80), y: round2(r() * 95), text, size: round2(2 + r() * 3), color: color() });
    } else {
      const w = round2(0.5 + r() * 9.5);
      const h = round2(0.5 + r() * 9.5);
      specs.push({ kind: 'rect', id, x: round2(r() * (100 - w)), y: round2(r() * (100 - h)), w, h, color: color() });
    }
  }
  return specs;
}

/** 1% of the nodes (at least 1), distinct, each with a small non-zero (dx, dy) in ±0.1…2 plane units. */
function makeMoves(n: number): Move[] {
  const r = rng(0x0b0e + n);
  const count = Math.max(1, Math.round(n / 100));
  const picked = new Set<number>();
  while (picked.size < count) picked.add(Math.floor(r() * n));
  const d = (): number => (r() < 0.5 ? -1 : 1) * round2(0.1 + r() * 1.9);
  return [...picked].sort((a, b) => a - b).map((index) => ({ index, dx: d(), dy: d() }));
}

// ------------------------------------------------------------------ results model

interface FullRow {
  codec: string;
  bytes: number;
  encode: Rate;
  decode: Rate;
  note?: string;
}
interface DeltaRow {
  codec: string;
  bytes: number;
  encode?: Rate; // move 1% + encode delta
  note?: string;
}
interface SizeResult {
  n: number;
  moved: number;
  movedRects: number;
  full: FullRow[]; // [0] = ours squish(root)
  oursSquisherFull: FullRow;
  delta: DeltaRow[]; // [0] = ours
}

// ------------------------------------------------------------------ squishjs (Homegames)

function squishjsCase(specs: Spec[]): FullRow {
  const { GameNode, Shapes, ShapeUtils, Squisher, unsquish } = sjs;
  // Homegames scenes hang off a root node; squishjs has no group, so the root is an unfilled
  // full-screen polygon (the counterpart of our root Group).
  const root = new GameNode.Shape({ shapeType: Shapes.POLYGON, coordinates2d: ShapeUtils.rectangle(0, 0, 100, 100) });
  const children = specs.map((s) =>
    s.kind === 'rect'
      ? // squishjs rectangles: a closed polygon of 5 points (ShapeUtils.rectangle repeats the first)
        new GameNode.Shape({ shapeType: Shapes.POLYGON, coordinates2d: ShapeUtils.rectangle(s.x, s.y, s.w, s.h), fill: [...s.color] })
      : new GameNode.Text({ textInfo: { text: s.text, x: s.x, y: s.y, size: s.size, color: [...s.color], align: 'left' } }),
  );
  for (const c of children) root.addChild(c, false);
  const layers = [{ root }];
  // Homegames' own Squisher walks the layers and squishes every node (squishHelper); the wire
  // frame is the concatenation of the per-node arrays, sent as bytes.
  const squisher = new Squisher({ game: { getLayers: () => layers } });
  const encode = (): Uint8Array => {
    const nodes: number[][] = squisher.squish(layers);
    return concat(nodes);
  };
  // homegames-web: walk the frame, each node is [3, len0, len1, len2, classCode, ...], unsquish each.
  const decode = (bytes: Uint8Array): unknown[] => {
    const out: unknown[] = [];
    let i = 0;
    while (i < bytes.length) {
      const len = bytes[i + 1] + bytes[i + 2] + bytes[i + 3];
      out.push(unsquish(bytes.subarray(i, i + len)));
      i += len;
    }
    return out;
  };
  const bytes = encode();
  const decoded = decode(bytes) as Array<{ node: { coordinates2d?: number[][]; text?: { text: string; x: number } } }>;
  assert(decoded.length === specs.length + 1, `squishjs decoded ${decoded.length} nodes`);
  const firstRect = specs.findIndex((s) => s.kind === 'rect');
  const s0 = specs[firstRect] as RectSpec;
  const p0 = decoded[firstRect + 1].node.coordinates2d![0];
  assert(Math.abs(p0[0] - s0.x) < 0.011 && Math.abs(p0[1] - s0.y) < 0.011, 'squishjs rect round trip');
  const firstText = specs.findIndex((s) => s.kind === 'text');
  if (firstText >= 0) assert(decoded[firstText + 1].node.text!.text === (specs[firstText] as TextSpec).text, 'squishjs text round trip');
  return { codec: `squishjs ${SQUISHJS_VERSION}`, bytes: bytes.length, encode: opsPerSec(encode), decode: opsPerSec(() => decode(bytes)) };
}

// ------------------------------------------------------------------ @colyseus/schema

const CRect = schema({ x: t.float32(), y: t.float32(), w: t.float32(), h: t.float32(), color: t.uint32() }, 'Rect');
const CText = schema({ x: t.float32(), y: t.float32(), text: t.string(), size: t.float32(), color: t.uint32() }, 'Text');
const CState = schema({ rects: t.array(CRect), texts: t.array(CText) }, 'State');
type CRectI = InstanceType<typeof CRect>;
type CTextI = InstanceType<typeof CText>;
type CStateI = InstanceType<typeof CState>;
Encoder.BUFFER_SIZE = 4 * 1024 * 1024; // no overflow warnings/resizes at 10 000 entities

function colyseusState(specs: Spec[]): { state: CStateI; entities: Array<CRectI | CTextI> } {
  const state = new CState();
  const entities: Array<CRectI | CTextI> = [];
  for (const s of specs) {
    if (s.kind === 'rect') {
      const e = new CRect();
      e.x = s.x; e.y = s.y; e.w = s.w; e.h = s.h; e.color = packRGBA(s.color);
      state.rects.push(e);
      entities.push(e);
    } else {
      const e = new CText();
      e.x = s.x; e.y = s.y; e.text = s.text; e.size = s.size; e.color = packRGBA(s.color);
      state.texts.push(e);
      entities.push(e);
    }
  }
  return { state, entities };
}

function colyseusCase(specs: Spec[], moves: Move[]): { full: FullRow; delta: DeltaRow } {
  // full frame
  const { state } = colyseusState(specs);
  const encoder = new Encoder(state);
  const bytes = encoder.encodeAll().slice();
  const ctx = new TypeContext(CState as unknown as typeof Schema); // schema() classes are Schema subclasses at run time
  const decode = (b: Uint8Array): CStateI => {
    const st = new CState();
    new Decoder(st, ctx).decode(b);
    return st;
  };
  const check = decode(bytes);
  const nRects = specs.filter((s) => s.kind === 'rect').length;
  assert(check.rects.length === nRects && check.texts.length === specs.length - nRects, 'colyseus decode count');
  const s0 = specs.find((s) => s.kind === 'rect') as RectSpec;
  assert(Math.abs(check.rects[0].x - s0.x) < 0.001, 'colyseus rect round trip');
  const full: FullRow = {
    codec: `@colyseus/schema ${COLYSEUS_VERSION} encodeAll`,
    bytes: bytes.length,
    encode: opsPerSec(() => encoder.encodeAll()),
    decode: opsPerSec(() => decode(bytes)),
  };
  encoder.discardChanges();

  // delta: separate state, initial encodeAll + discardChanges, then move 1% and encode()
  const d = colyseusState(specs);
  const denc = new Encoder(d.state);
  const initial = denc.encodeAll().slice();
  denc.discardChanges();
  let sign = 1;
  const move = (): void => {
    for (const m of moves) {
      const s = specs[m.index];
      const e = d.entities[m.index];
      e.x = sign > 0 ? round2(s.x + m.dx) : s.x;
      e.y = sign > 0 ? round2(s.y + m.dy) : s.y;
    }
    sign = -sign;
  };
  move();
  const patch = denc.encode().slice();
  denc.discardChanges();
  // the patch applies on a client that decoded the initial state
  const client = new CState();
  const cdec = new Decoder(client, ctx);
  cdec.decode(initial);
  cdec.decode(patch);
  const m0 = moves[0];
  const ms = specs[m0.index];
  const list = ms.kind === 'rect' ? client.rects : client.texts;
  const idx = specs.slice(0, m0.index).filter((s) => s.kind === ms.kind).length;
  assert(Math.abs(list[idx].x - round2(ms.x + m0.dx)) < 0.001, 'colyseus patch applies');
  move(); // back to the start, so the timed alternation stays balanced
  denc.encode();
  denc.discardChanges();
  const encodeDelta = (): Uint8Array => {
    move();
    const out = denc.encode();
    denc.discardChanges();
    return out;
  };
  const delta: DeltaRow = { codec: `@colyseus/schema ${COLYSEUS_VERSION} encode() patch`, bytes: patch.length, encode: opsPerSec(encodeDelta) };
  return { full, delta };
}

// ------------------------------------------------------------------ JSON / msgpackr (plain state)

interface PlainRect { id: number; x: number; y: number; w: number; h: number; color: number }
interface PlainText { id: number; x: number; y: number; text: string; size: number; color: number }
interface PlainState { rects: PlainRect[]; texts: PlainText[] }

function plainState(specs: Spec[]): PlainState {
  const st: PlainState = { rects: [], texts: [] };
  for (const s of specs) {
    if (s.kind === 'rect') st.rects.push({ id: s.id, x: s.x, y: s.y, w: s.w, h: s.h, color: packRGBA(s.color) });
    else st.texts.push({ id: s.id, x: s.x, y: s.y, text: s.text, size: s.size, color: packRGBA(s.color) });
  }
  return st;
}

/** The naive diff: the changed fields of each changed entity, keyed by id. */
function plainDiff(specs: Spec[], moves: Move[]): Array<{ id: number; x: number; y: number }> {
  return moves.map((m) => {
    const s = specs[m.index];
    return { id: s.id, x: round2(s.x + m.dx), y: round2(s.y + m.dy) };
  });
}

function plainCases(specs: Spec[], moves: Move[]): { full: FullRow[]; delta: DeltaRow[] } {
  const st = plainState(specs);
  const json = utf8.encode(JSON.stringify(st));
  const mp = pack(st);
  assert((JSON.parse(utf8d.decode(json)) as PlainState).rects.length === st.rects.length, 'json round trip');
  assert((unpack(mp) as PlainState).texts.length === st.texts.length, 'msgpackr round trip');
  const diff = plainDiff(specs, moves);
  return {
    full: [
      {
        codec: 'JSON.stringify (UTF-8)',
        bytes: json.length,
        encode: opsPerSec(() => utf8.encode(JSON.stringify(st))),
        decode: opsPerSec(() => JSON.parse(utf8d.decode(json))),
      },
      { codec: `msgpackr ${MSGPACKR_VERSION} pack`, bytes: mp.length, encode: opsPerSec(() => pack(st)), decode: opsPerSec(() => unpack(mp)) },
    ],
    delta: [
      { codec: 'JSON diff list', bytes: utf8.encode(JSON.stringify(diff)).length, note: '[{id,x,y}…]' },
      { codec: 'msgpackr diff list', bytes: pack(diff).length, note: '[{id,x,y}…]' },
    ],
  };
}

// ------------------------------------------------------------------ ours (@parlor/squish)

type P = typeof ParlorSquish;

function oursScene(p: P, specs: Spec[]): { root: InstanceType<P['Group']>; nodes: Array<InstanceType<P['Shape']> | InstanceType<P['Text']>> } {
  const nodes = specs.map((s) =>
    s.kind === 'rect'
      ? new p.Shape({ shapeType: 'polygon', points: p.ShapeUtils.rectangle(s.x, s.y, s.w, s.h), fill: s.color }, s.id)
      : new p.Text({ text: s.text, x: s.x, y: s.y, size: s.size, color: s.color }, s.id),
  );
  const root = new p.Group({ children: nodes }, specs.length + 1);
  return { root, nodes };
}

function playerMessage(p: P, frames: ReturnType<InstanceType<P['Squisher']>['flush']>, playerId: number): Uint8Array {
  const msg = p.messageFor(frames, playerId);
  assert(msg, `Squisher sent nothing to player ${playerId}`);
  return msg;
}

function oursCases(p: P, specs: Spec[], moves: Move[]): { full: FullRow; squisherFull: FullRow; delta: DeltaRow } {
  // standalone squish(root)
  const { root } = oursScene(p, specs);
  const bytes = p.squish(root);
  const back = p.unsquish(bytes);
  assert(back.children.length === specs.length, `unsquish gave ${back.children.length} children`);
  const r0 = specs.findIndex((s) => s.kind === 'rect');
  const pt = (back.children[r0] as InstanceType<P['Shape']>).points[0];
  assert(Math.abs(pt[0] - specs[r0].x) < 0.006 && Math.abs(pt[1] - specs[r0].y) < 0.006, 'ours rect round trip');
  const t0 = specs.findIndex((s) => s.kind === 'text');
  if (t0 >= 0) assert((back.children[t0] as InstanceType<P['Text']>).text === (specs[t0] as TextSpec).text, 'ours text round trip');
  const full: FullRow = {
    codec: 'ours squish(root)',
    bytes: bytes.length,
    encode: opsPerSec(() => p.squish(root)),
    decode: opsPerSec(() => p.unsquish(bytes)),
  };

  // Squisher: one player, first full frame, then 1% moved -> delta frame
  const scene = oursScene(p, specs);
  const PLAYER = 1;
  const squisher = new p.Squisher({ layers: () => [scene.root] });
  squisher.addPlayer(PLAYER);
  const fullMsg = playerMessage(p, squisher.flush(), PLAYER);
  const mirror = new p.SceneMirror();
  const applied = mirror.apply(fullMsg);
  assert(applied.full, 'first Squisher frame is not full');
  let sign = 1;
  const move = (): void => {
    for (const m of moves) {
      const n = scene.nodes[m.index];
      if (n.kind === p.NodeKind.SHAPE) (n as InstanceType<P['Shape']>).translate(sign * m.dx, sign * m.dy);
      else {
        const s = specs[m.index];
        (n as InstanceType<P['Text']>).x = sign > 0 ? round2(s.x + m.dx) : s.x;
        (n as InstanceType<P['Text']>).y = sign > 0 ? round2(s.y + m.dy) : s.y;
      }
    }
    sign = -sign;
  };
  move();
  const deltaMsg = playerMessage(p, squisher.flush(), PLAYER);
  const ap = mirror.apply(deltaMsg);
  assert(!ap.full, 'second Squisher frame is not a delta');
  const m0 = moves[0];
  const mn = mirror.nodes.get(specs[m0.index].id);
  assert(mn, 'moved node missing from mirror');
  const expX = round2(specs[m0.index].x + m0.dx);
  const gotX = mn.kind === p.NodeKind.SHAPE ? (mn as InstanceType<P['Shape']>).points[0][0] : (mn as InstanceType<P['Text']>).x;
  assert(Math.abs(gotX - expX) < 0.006, `moved node x ${gotX} != ${expX} in mirror`);
  move(); // back to the start
  squisher.flush();

  const delta: DeltaRow = {
    codec: 'ours Squisher delta frame',
    bytes: deltaMsg.length,
    encode: opsPerSec(() => {
      move();
      return squisher.flush();
    }),
  };
  // full frame path for a (re)joining player: requestFull + flush (may reuse cached subtree bytes)
  const squisherFull: FullRow = {
    codec: 'ours Squisher full frame (1 player)',
    bytes: fullMsg.length,
    encode: opsPerSec(() => {
      squisher.requestFull(PLAYER);
      return squisher.flush();
    }),
    decode: opsPerSec(() => new p.SceneMirror().apply(fullMsg)),
    note: 'requestFull+flush; decode = new SceneMirror().apply',
  };
  return { full, squisherFull, delta };
}

// ------------------------------------------------------------------ report

const fmtInt = (v: number): string => Math.round(v).toLocaleString('en-US');
const fmt = (v: number, d = 1): string => v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const ratio = (v: number): string => (Number.isFinite(v) ? `${fmt(v, 2)}×` : '—');

function table(head: string[], rows: string[][]): string {
  const align = head.map((_, i) => (i === 0 ? ':--' : '--:'));
  return [head, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function sizeSection(r: SizeResult): string {
  const ours = r.full[0];
  const fullRows = [...r.full.slice(0, 1), r.oursSquisherFull, ...r.full.slice(1)].map((row) => [
    row.codec,
    fmtInt(row.bytes),
    fmt(row.bytes / r.n),
    ratio(row.bytes / ours.bytes),
    fmtInt(row.encode.ops),
    ratio(ours.encode.ops / row.encode.ops),
    fmtInt(row.decode.ops),
    ratio(ours.decode.ops / row.decode.ops),
  ]);
  const od = r.delta[0];
  const deltaRows = r.delta.map((row) => [
    row.codec + (row.note ? ` ${row.note}` : ''),
    fmtInt(row.bytes),
    fmt(row.bytes / r.moved),
    ratio(row.bytes / od.bytes),
    fmt((100 * row.bytes) / r.oursSquisherFull.bytes, 2) + '%',
    row.encode === undefined ? '—' : fmtInt(row.encode.ops),
    row.encode === undefined || od.encode === undefined ? '—' : ratio(od.encode.ops / row.encode.ops),
  ]);
  return [
    `### ${fmtInt(r.n)} nodes (${fmtInt(r.n - r.n / 10)} rectangles, ${fmtInt(r.n / 10)} texts)`,
    '',
    'Full frame:',
    '',
    table(['codec', 'bytes', 'B/node', 'bytes peer÷ours', 'encode ops/s', 'speed ours÷peer', 'decode ops/s', 'speed ours÷peer'], fullRows),
    '',
    `Frame after 1% moved (${r.moved} entit${r.moved === 1 ? 'y' : 'ies'}: ${r.movedRects} rect, ${r.moved - r.movedRects} text):`,
    '',
    table(['codec', 'bytes', 'B/moved entity', 'bytes peer÷ours', 'of our full frame', 'move+encode ops/s', 'speed ours÷peer'], deltaRows),
    '',
  ].join('\n');
}

interface Check { name: string; pass: boolean; detail: string }

function targets(results: SizeResult[]): Check[] {
  const checks: Check[] = [];
  for (const r of results) {
    const ours = r.full[0];
    const sq = r.oursSquisherFull;
    const sjsRow = r.full.find((x) => x.codec.startsWith('squishjs'))!;
    const col = r.full.find((x) => x.codec.startsWith('@colyseus'))!;
    const od = r.delta[0];
    const cold = r.delta.find((x) => x.codec.startsWith('@colyseus'))!;
    const n = fmtInt(r.n);
    checks.push({
      name: `${n}: full frame ≤ 0.5× squishjs bytes`,
      pass: ours.bytes <= 0.5 * sjsRow.bytes && sq.bytes <= 0.5 * sjsRow.bytes,
      detail: `squish ${fmtInt(ours.bytes)} B, Squisher full ${fmtInt(sq.bytes)} B vs 0.5 × ${fmtInt(sjsRow.bytes)} = ${fmtInt(0.5 * sjsRow.bytes)} B`,
    });
    checks.push({
      name: `${n}: full frame ≤ Colyseus encodeAll bytes`,
      pass: ours.bytes <= col.bytes && sq.bytes <= col.bytes,
      detail: `squish ${fmtInt(ours.bytes)} B, Squisher full ${fmtInt(sq.bytes)} B vs ${fmtInt(col.bytes)} B`,
    });
    checks.push({
      name: `${n}: 1% delta ≤ 0.1× our full frame`,
      pass: od.bytes <= 0.1 * sq.bytes,
      detail: `${fmtInt(od.bytes)} B vs 0.1 × ${fmtInt(sq.bytes)} = ${fmt(0.1 * sq.bytes)} B`,
    });
    checks.push({
      name: `${n}: 1% delta ≤ Colyseus patch`,
      pass: od.bytes <= cold.bytes,
      detail: `${fmtInt(od.bytes)} B vs ${fmtInt(cold.bytes)} B`,
    });
    checks.push({
      name: `${n}: full encode ops/s ≥ Colyseus encodeAll`,
      pass: ours.encode.ops >= col.encode.ops,
      detail: `squish ${fmtInt(ours.encode.ops)}/s vs ${fmtInt(col.encode.ops)}/s (${ratio(ours.encode.ops / col.encode.ops)})`,
    });
  }
  return checks;
}

function report(results: SizeResult[], elapsedS: number, loadBefore: number[]): string {
  const cpus = os.cpus();
  const checks = targets(results);
  const r100 = results.find((r) => r.n === 100);
  const peerNotes: string[] = [];
  if (r100) {
    const s = r100.full.find((x) => x.codec.startsWith('squishjs'))!;
    const c = r100.full.find((x) => x.codec.startsWith('@colyseus'))!;
    const cd = results.map((r) => fmt(r.delta.find((x) => x.codec.startsWith('@colyseus'))!.bytes / r.moved)).join(' / ');
    peerNotes.push(
      `- squishjs, 100 nodes: ${fmt(s.bytes / 100)} B/node, ${fmtInt(s.encode.ops)} encodes/s (issue's figure ≈ 62 B, ≈ 600/s).`,
      `- Colyseus, 100 entities: ${fmt(c.bytes / 100)} B/entity, ${fmtInt(c.encode.ops)} encodeAll/s (issue's figure ≈ 33–41 B, ≈ 16 000/s); patch ${cd} B per moved entity at 100 / 1 000 / 10 000 (≈ 7–9 B).`,
    );
  }
  return [
    '# Codec benchmark',
    '',
    `Generated by \`npm run bench -w @parlor/bench\` (bench/src/codec.bench.ts) — do not edit by hand.`,
    '',
    `- Machine: ${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length} cores, ${os.platform()} ${os.release()}`,
    `- Node ${process.version}; squishjs ${SQUISHJS_VERSION}, @colyseus/schema ${COLYSEUS_VERSION}, msgpackr ${MSGPACKR_VERSION}, @parlor/squish from packages/squish/dist`,
    `- Date: ${new Date().toISOString()}; run time ${fmt(elapsedS, 0)} s; load average (1 min) ${fmt(loadBefore[0], 2)} at start, ${fmt(os.loadavg()[0], 2)} at end — other processes share the CPUs, so absolute ops/s vary between runs; compare ratios within one run`,
    '',
    '## Method',
    '',
    '- Scenes of 100, 1 000 and 10 000 nodes, seeded (mulberry32): 90% axis-aligned rectangles (x, y, w, h, opaque random RGB colour), 10% texts like "Player 12: 340" (x, y, size 2–5, colour); all values in the 0–100 plane rounded to 0.01. Every codec gets the same values.',
    '- Ours: a root `Group` holding the nodes (rectangles are `Shape` polygons of 4 points from `ShapeUtils.rectangle`); `squish(root)` / `unsquish`, and a `Squisher` with one player (its message = concatenation of its parts). squishjs: a root unfilled full-screen `Shape` holding `Shape` polygons of 5 points (its `ShapeUtils.rectangle`) and `Text` nodes; encoded by its own `Squisher.squish(layers)` and copied into one `Uint8Array`, decoded node by node with `unsquish` as homegames-web does. Colyseus: `schema()` state `{ rects: array(Rect{x,y,w,h: float32, color: uint32}), texts: array(Text{x,y: float32, text: string, size: float32, color: uint32}) }`, `Encoder.encodeAll()`, decoded by a fresh `Decoder`. JSON / msgpackr: the plain state `{ rects: [{id,x,y,w,h,color}], texts: [{id,x,y,text,size,color}] }`, colour as a 32-bit integer.',
    '- 1% moved: the same seeded 1% of nodes move by ±0.1…2 in x and y (rectangles via `Shape.translate`). Ours = the Squisher delta message for that player; Colyseus = `encoder.encode()` after `encodeAll()` + `discardChanges()` (raw patch, without Colyseus\' 1-byte room message prefix); JSON / msgpackr = a naive list `[{id, x, y}]` of the changed entities.',
    `- Speed: each case is warmed up (≥ ${WARMUP_MS} ms), then ${BATCHES} batches of ≥ ${BATCH_MS} ms per case, run round-robin over all cases of a scene size (so background load hits every codec alike), timed with \`process.hrtime.bigint()\`, GC forced before each batch; the median batch rate is reported. Encode = the codec's own output (Colyseus returns a view of its shared buffer, no copy; ours and the others allocate the result). Delta speed = move 1% + encode (+ \`discardChanges()\` for Colyseus), alternating the move forth and back.`,
    '- Ratios: bytes = peer ÷ ours (> 1 means ours is smaller); speed = ours ÷ peer (> 1 means ours is faster). The full-frame baseline is `squish(root)`; the delta baseline is our Squisher delta.',
    '',
    '## Results',
    '',
    ...results.map(sizeSection),
    '## Targets (issue 2, "Measure")',
    '',
    table(['target', 'result', 'measured'], checks.map((c) => [c.name, c.pass ? 'PASS' : 'FAIL', c.detail])),
    '',
    `${checks.filter((c) => c.pass).length} of ${checks.length} checks pass.`,
    '',
    'Peers against the figures quoted in the issue (sanity check of the equivalence of the scenes):',
    '',
    ...peerNotes,
    '',
  ].join('\n');
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = os.loadavg();
  let p: P;
  try {
    p = await import('@parlor/squish');
  } catch (e) {
    throw new Error('cannot load @parlor/squish (packages/squish/dist): run `npm run build -w @parlor/squish` first', { cause: e });
  }
  for (const name of ['squish', 'unsquish', 'Squisher', 'SceneMirror', 'Group', 'Shape', 'Text'] as const) {
    if (typeof (p as Record<string, unknown>)[name] !== 'function') {
      throw new Error(`@parlor/squish does not export ${name}: build it first (npm run build -w @parlor/squish)`);
    }
  }
  const results: SizeResult[] = [];
  for (const n of SIZES) {
    const specs = makeScene(n);
    const moves = makeMoves(n);
    process.stdout.write(`… ${n} nodes\n`);
    const ours = oursCases(p, specs, moves);
    const sjsRow = squishjsCase(specs);
    const col = colyseusCase(specs, moves);
    const plain = plainCases(specs, moves);
    runTimers();
    const res: SizeResult = {
      n,
      moved: moves.length,
      movedRects: moves.filter((m) => specs[m.index].kind === 'rect').length,
      full: [ours.full, sjsRow, col.full, ...plain.full],
      oursSquisherFull: ours.squisherFull,
      delta: [ours.delta, col.delta, ...plain.delta],
    };
    results.push(res);
    process.stdout.write(sizeSection(res) + '\n');
  }
  const md = report(results, (performance.now() - started) / 1000, loadBefore);
  writeFileSync(RESULTS_PATH, md);
  const targetsMd = md.slice(md.indexOf('## Targets'));
  process.stdout.write(`\n${targetsMd}\nwrote ${RESULTS_PATH} (sink ${sink % 10})\n`);
}

await main();
