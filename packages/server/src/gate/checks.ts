/**
 * The gate's checks of a game as the server would load it: evaluating it in the sandbox (the host
 * never evaluates it) and validating the metadata it reports like the server's loader
 * (`validateMetadata`), then every asset like the server loads them (`loadAssets`), one finding per
 * bad asset; findings point at `metadata(` or the asset's path in the sources.
 */
import { readFileSync } from 'node:fs';
import type { ResolvedGameMetadata } from '@parlor/squish';
import { locationInMessage } from '../dev/diagnostics.js';
import { GameLoadError } from '../errors.js';
import { DEFAULT_MAX_ASSET_BYTES, DEFAULT_MAX_GAME_ASSET_BYTES, loadAssets, type AssetLimits } from '../games/assets.js';
import { validateMetadata } from '../games/metadata.js';
import type { RoomRuntime } from '../runtime/runtime.js';
import { errorText, ownData } from './describe.js';
import type { GateFinding } from './report.js';

/** Location of `export default` in the entry (for class/metadata findings); 1:1 if not found. */
export function defaultExportLocation(entry: string): { line: number; column: number } {
  try {
    const lines = readFileSync(entry, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const c = lines[i].indexOf('export default');
      if (c >= 0) return { line: i + 1, column: c + 1 };
      const m = lines[i].indexOf('module.exports');
      if (m >= 0) return { line: i + 1, column: m + 1 };
    }
  } catch {
    // fall through
  }
  return { line: 1, column: 1 };
}


/** Evaluates the game in the sandbox and validates its metadata; `null` (with findings) when it does not load. */
export async function loadInSandbox(
  runtime: RoomRuntime,
  bundle: { code: string; filename: string },
  baseDir: string,
  entry: string,
  where: { line: number; column: number },
  startTimeoutMs: number,
  findings: GateFinding[],
): Promise<ResolvedGameMetadata | null> {
  if (!runtime.inspect) {
    findings.push({ severity: 'error', rule: 'runtime', message: `runtime ${runtime.name} cannot load a game in a sandbox`, file: entry, ...where });
    return null;
  }
  let inspected: unknown;
  try {
    let timer: ReturnType<typeof setTimeout> | undefined;
    inspected = await Promise.race([
      runtime.inspect(bundle, baseDir).finally(() => clearTimeout(timer)),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the game did not load within ${startTimeoutMs} ms`)), startTimeoutMs + 5000);
      }),
    ]);
  } catch (err) {
    // A game that threw while loading names its line: `… (at <file>:<line>:<col>)`, mapped by the runtime.
    const { message: msg, at } = locationInMessage(errorText(err, 2000).replace(`${entry}: `, ''));
    const rule = /extend Game|default export|no static metadata|not a game class/i.test(msg) ? 'no-game-class' : /metadata\(\)/.test(msg) ? 'metadata' : 'load';
    const loc = at ?? { file: entry, ...(rule === 'metadata' ? metadataLocation(entry, where) : where) };
    findings.push({ severity: 'error', rule, message: msg, ...loc });
    return null;
  }
  try {
    // The sandbox's answer is untrusted: validated like the server's loader does.
    return validateMetadata(ownData(inspected, 'metadata'), entry);
  } catch (err) {
    const field = err instanceof GameLoadError && typeof err.field === 'string' ? err.field : '';
    findings.push({ severity: 'error', rule: 'metadata', message: errorText(err, 2000).replace(`${entry}: `, ''), file: entry, ...metadataLocation(entry, where, field) });
    return null;
  }
}

/**
 * Checks every asset of the metadata the way the server loads it (`loadAssets`), one at a time so
 * that every bad asset gets its own finding, then the per-game total.
 */
export async function examineAssets(
  gameName: string,
  baseDir: string,
  metadata: ResolvedGameMetadata,
  limits: AssetLimits,
  sources: string[],
  entry: string,
  findings: GateFinding[],
): Promise<void> {
  const maxGame = limits.maxGameBytes ?? DEFAULT_MAX_GAME_ASSET_BYTES;
  const maxAsset = limits.maxAssetBytes ?? DEFAULT_MAX_ASSET_BYTES;
  let total = 0;
  const texts = new Map<string, string>();
  const fallback = { file: entry, ...metadataLocation(entry, { line: 1, column: 1 }, 'assets') };
  for (const [id, spec] of Object.entries(metadata.assets)) {
    const at = locateText(sources, spec.path, texts) ?? fallback;
    try {
      const [asset] = await loadAssets(gameName, baseDir, { [id]: spec }, { maxAssetBytes: maxAsset, maxGameBytes: maxGame });
      total += asset?.data.byteLength ?? 0;
      if (asset && asset.contentType === 'image/svg+xml' && /<script|\son[a-z]+\s*=|javascript:|<foreignObject/i.test(Buffer.from(asset.data).toString('utf8'))) {
        findings.push({ severity: 'error', rule: 'asset', message: `asset "${id}" (${spec.path}): an SVG with script, event handlers or javascript: URLs is not allowed`, ...at });
      }
    } catch (err) {
      findings.push({ severity: 'error', rule: 'asset', message: errorText(err, 1000), ...at });
    }
  }
  if (total > maxGame) {
    findings.push({ severity: 'error', rule: 'asset', message: `the game's assets total ${total} bytes; the limit per game is ${maxGame}`, file: entry, line: 1, column: 1 });
  }
}

/** Where `needle` first appears as a string literal in the game's sources; `null` if nowhere. */
function locateText(files: string[], needle: string, cache: Map<string, string>): { file: string; line: number; column: number } | null {
  if (!needle) return null;
  for (const file of files) {
    let text = cache.get(file);
    if (text === undefined) {
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        text = '';
      }
      cache.set(file, text);
    }
    for (const q of ["'", '"', '`']) {
      const i = text.indexOf(q + needle + q);
      if (i >= 0) {
        const before = text.slice(0, i);
        const line = before.split('\n').length;
        return { file, line, column: i - before.lastIndexOf('\n') };
      }
    }
  }
  return null;
}

/** Location of `metadata(` (or of `field`'s key inside it) in the entry; `fallback` if not found. */
function metadataLocation(entry: string, fallback: { line: number; column: number }, field = ''): { line: number; column: number } {
  try {
    const text = readFileSync(entry, 'utf8');
    const m = text.indexOf('metadata(');
    if (m < 0) return fallback;
    let i = m;
    const key = field.split('.')[0];
    if (key) {
      const k = new RegExp(`\\b${key.replace(/[^A-Za-z0-9_$]/g, '')}\\s*:`).exec(text.slice(m));
      if (k) i = m + k.index;
    }
    const before = text.slice(0, i);
    return { line: before.split('\n').length, column: i - before.lastIndexOf('\n') };
  } catch {
    return fallback;
  }
}
