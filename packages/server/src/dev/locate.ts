/**
 * Locating a game's errors in the author's source: stack frames of a game bundle mapped back
 * through the bundle's inline source map (Node's own `SourceMap` of `node:module`), and code
 * frames (`@babel/code-frame`) read from the author's files on this host.
 *
 * Games are evaluated with `vm.compileFunction` under their entry's file name (here, in a child
 * process or in a container alike), which Node's `--enable-source-maps` does not map: their
 * stacks point into the bundle under the entry's name. The host maps them here, so the sandbox
 * never needs the source map or the sources.
 */
import { readFileSync, statSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeFrameColumns } from '@babel/code-frame';

/** A place in the author's source. Line and column are 1-based. */
export interface SourceLocation {
  /** Absolute path. */
  file: string;
  line: number;
  column: number;
}

/** A game bundle as the loader keeps it: CommonJS code with an inline source map, evaluated under `filename` (the entry). */
export interface BundleRef {
  code: string;
  filename: string;
}

const INLINE_MAP = '//# sourceMappingURL=data:application/json;base64,';
/** Largest source file read for a code frame (bytes). */
const MAX_FRAME_SOURCE_BYTES = 4 * 1024 * 1024;
/** Characters of a code frame's lines shown on each side of the column. */
const FRAME_CONTEXT_CHARS = 80;
/** Longest stack mapped (characters); the engine caps stacks at 8000. */
const MAX_STACK_CHARS = 16_000;

const maps = new WeakMap<BundleRef, SourceMap | null>();

/** The bundle's inline source map as Node's `SourceMap` (cached per bundle object); `null` if it has none. */
export function bundleSourceMap(bundle: BundleRef): SourceMap | null {
  const cached = maps.get(bundle);
  if (cached !== undefined) return cached;
  let map: SourceMap | null = null;
  const at = bundle.code.lastIndexOf(INLINE_MAP);
  if (at >= 0) {
    try {
      const payload = JSON.parse(Buffer.from(bundle.code.slice(at + INLINE_MAP.length).trim(), 'base64').toString('utf8')) as SourceMapPayload;
      map = new SourceMap(payload);
    } catch {
      map = null;
    }
  }
  maps.set(bundle, map);
  return map;
}

/**
 * The author's location of a 1-based line and column of the bundle; `null` when the map has no
 * mapping there (or the bundle no map).
 */
export function originalPosition(bundle: BundleRef, line: number, column: number): SourceLocation | null {
  const map = bundleSourceMap(bundle);
  if (!map || line < 1 || column < 1) return null;
  const e = map.findEntry(line - 1, column - 1) as Partial<{ originalSource: string; originalLine: number; originalColumn: number }>;
  if (typeof e.originalSource !== 'string' || typeof e.originalLine !== 'number' || typeof e.originalColumn !== 'number') return null;
  const src = e.originalSource;
  // esbuild writes sources relative to the bundle's working folder (the entry's); newer Node versions hand out URLs.
  const file = src.startsWith('file://') ? fileURLToPath(src) : isAbsolute(src) ? src : resolve(dirname(bundle.filename), src);
  return { file, line: e.originalLine + 1, column: e.originalColumn + 1 };
}

/**
 * Rewrites the frames of `stack` that point into the bundle (`<filename>:<line>:<col>`) to the
 * author's file:line:column. Returns the mapped stack and the first mapped frame (`at`), which is
 * where the error arose in the game's code; `at` is absent when no frame is the game's.
 */
export function mapStack(stack: string, bundle: BundleRef | null | undefined): { stack: string; at?: SourceLocation } {
  if (!bundle || typeof stack !== 'string' || stack === '') return { stack: typeof stack === 'string' ? stack : '' };
  const text = stack.length > MAX_STACK_CHARS ? stack.slice(0, MAX_STACK_CHARS) : stack;
  const re = new RegExp(`${escapeRe(bundle.filename)}:(\\d+):(\\d+)`, 'g');
  let at: SourceLocation | undefined;
  const mapped = text.replace(re, (whole, l: string, c: string) => {
    const loc = originalPosition(bundle, Number(l), Number(c));
    if (!loc) return whole;
    at ??= loc;
    return `${loc.file}:${loc.line}:${loc.column}`;
  });
  return at ? { stack: mapped, at } : { stack: mapped };
}

/** `file:line:column`. */
export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}

/**
 * A code frame of the author's file around `loc`: two lines above and below, a marker under the
 * column, each line cut to 80 characters either side of the column (`…` where cut). Plain text unless `color` (for a terminal). `undefined` when the file cannot be read,
 * is too large, or has no such line.
 */
export function codeFrame(loc: SourceLocation, options: { color?: boolean; source?: string } = {}): string | undefined {
  let source = options.source;
  if (source === undefined) {
    try {
      if (statSync(loc.file).size > MAX_FRAME_SOURCE_BYTES) return undefined;
      source = readFileSync(loc.file, 'utf8');
    } catch {
      return undefined;
    }
  }
  const all = source.split('\n');
  if (loc.line > all.length) return undefined;
  // Only the lines shown, each cut to a window around the column (a minified or hostile file may
  // have one enormous line); the others stay empty so that the line numbers hold.
  const first = Math.max(0, loc.line - 3);
  const last = Math.min(all.length, loc.line + 2);
  const start = Math.max(0, loc.column - 1 - FRAME_CONTEXT_CHARS);
  const cut = (l: string): string => (l.length <= start ? '' : `${start > 0 ? '…' : ''}${l.slice(start, start + 2 * FRAME_CONTEXT_CHARS)}${l.length > start + 2 * FRAME_CONTEXT_CHARS ? '…' : ''}`);
  const shown = new Array<string>(last).fill('');
  for (let i = first; i < last; i++) shown[i] = cut(all[i].replace(/\r$/, ''));
  const column = loc.column - start + (start > 0 ? 1 : 0);
  try {
    return codeFrameColumns(shown.join('\n'), { start: { line: loc.line, column } }, { highlightCode: options.color === true, forceColor: options.color === true, linesAbove: 2, linesBelow: 2 });
  } catch {
    return undefined;
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
