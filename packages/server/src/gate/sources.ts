/**
 * Which files the gate scans and the bundle it builds: every JS/TS file of the game folder (not
 * `node_modules`), then every file the bundle pulls in (the game's own `node_modules` included),
 * each through {@link scanSource}; the file, total and bundle size caps; and any import that
 * resolves outside the game folder, which the server's bundler refuses (`outside-import`).
 */
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { bundleGame } from '../games/bundle.js';
import { errorText } from './describe.js';
import type { GateFinding } from './report.js';
import { scanSource } from './scan.js';

/** Size caps of {@link scanGameSources}, in bytes (and a count of files). */
export interface SourceLimits {
  /** Largest source file. */
  file: number;
  /** Largest total of the game's source files. */
  total: number;
  /** Largest bundle. */
  bundle: number;
  /** Most source files. */
  files: number;
}

/** What {@link scanGameSources} found: the files it scanned and the bundle, `null` if it could not be built. */
export interface ScannedSources {
  /** Files scanned (absolute paths), in the order they were scanned. */
  files: string[];
  /** The bundle the server would build, named after the entry. */
  bundle: { code: string; filename: string } | null;
}

const SOURCE_EXT = new Set(['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs']);

/**
 * The static scan of a game (steps 1 and 2 of `validateGame`): scans every source of the folder
 * (or the single file `root`), bundles the entry confined to `baseDir` like the server does and
 * scans every input of the bundle too. Findings are appended to `findings`; never throws.
 */
export async function scanGameSources(
  root: string,
  entry: string,
  baseDir: string,
  isDir: boolean,
  limits: SourceLimits,
  allowed: ReadonlySet<string>,
  findings: GateFinding[],
): Promise<ScannedSources> {
  // 1. Every source of the folder.
  const files = isDir ? listSources(root) : [root];
  if (files.length > limits.files) {
    findings.push({ severity: 'error', rule: 'size', message: `${files.length} source files (limit ${limits.files})`, file: root, line: 1, column: 1 });
  }
  let total = 0;
  const scanned = new Set<string>();
  const scanFile = (file: string): void => {
    if (scanned.has(file)) return;
    scanned.add(file);
    let text: string;
    try {
      const st = statSync(file);
      if (!st.isFile()) {
        findings.push({ severity: 'error', rule: 'syntax', message: 'not a regular file', file, line: 1, column: 1 });
        return;
      }
      total += st.size;
      if (st.size > limits.file) {
        findings.push({ severity: 'error', rule: 'size', message: `file is ${st.size} bytes (limit ${limits.file})`, file, line: 1, column: 1 });
        return;
      }
      text = readFileSync(file, 'utf8');
    } catch (err) {
      findings.push({ severity: 'error', rule: 'syntax', message: `cannot read: ${errorText(err)}`, file, line: 1, column: 1 });
      return;
    }
    findings.push(...scanSource(text, file, allowed));
  };
  for (const f of files.slice(0, limits.files)) scanFile(f);

  // 2. Bundle, confined to the game folder like the server's: every input is scanned too.
  let bundle: { code: string; filename: string } | null = null;
  try {
    const built = await bundleGame(entry, baseDir);
    bundle = { code: built.code, filename: entry };
    // Every file in the bundle, the game's own node_modules included (the loader's `inputs` leave them out).
    for (const f of new Set([...built.inputs, ...bundledSources(built.code, entry)])) if (SOURCE_EXT.has(extname(f)) && insideFolder(baseDir, f)) scanFile(f);
    if (built.code.length > limits.bundle) {
      findings.push({ severity: 'error', rule: 'size', message: `bundle is ${built.code.length} bytes (limit ${limits.bundle})`, file: entry, line: 1, column: 1 });
    }
  } catch (err) {
    for (const f of parseBuildErrors(errorText(err, 20_000), entry)) findings.push(f);
  }
  if (total > limits.total) {
    findings.push({ severity: 'error', rule: 'size', message: `sources total ${total} bytes (limit ${limits.total})`, file: root, line: 1, column: 1 });
  }
  return { files: [...scanned], bundle };
}

/** The files an esbuild bundle was built from, read from its inline source map (absolute paths); `[]` if it has none. */
function bundledSources(code: string, entry: string): string[] {
  const key = '//# sourceMappingURL=data:application/json;base64,';
  const at = code.lastIndexOf(key);
  if (at < 0) return [];
  try {
    const map = JSON.parse(Buffer.from(code.slice(at + key.length).trim(), 'base64').toString('utf8')) as { sources?: unknown };
    if (!Array.isArray(map.sources)) return [];
    return map.sources.filter((x): x is string => typeof x === 'string' && !x.includes(':')).map((x) => resolve(entry, '..', x));
  } catch {
    return [];
  }
}

/** Whether `file` (after symlinks) lies inside `dir` (after symlinks). */
export function insideFolder(dir: string, file: string): boolean {
  try {
    const d = realpathSync(dir);
    const f = realpathSync(file);
    return f.startsWith(d.endsWith(sep) ? d : d + sep);
  } catch {
    return false;
  }
}

/** Most directory entries {@link listSources} visits (a folder of a million files cannot stall the gate). */
const MAX_WALKED_ENTRIES = 50_000;

/** Every JS/TS source under `root` (not dot files, not `node_modules`, not `.d.ts`), sorted. */
function listSources(root: string): string[] {
  const out: string[] = [];
  let visited = 0;
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return; // unreadable: the bundler reports what it needs from it
    }
    for (const e of entries) {
      if (++visited > MAX_WALKED_ENTRIES || out.length > 10_000) return;
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && SOURCE_EXT.has(extname(e.name)) && !/\.d\.[cm]?ts$/.test(e.name)) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

/** Whether `p` is a regular file (after symlinks); `false` if it cannot be read. */
export function isFileSafe(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Findings of an esbuild failure, one per `file:line:col: message` line of its text. */
function parseBuildErrors(message: string, entry: string): GateFinding[] {
  const out: GateFinding[] = [];
  for (const line of message.split('\n')) {
    const m = /^\s*(.+?):(\d+):(\d+): (.*)$/.exec(line);
    if (m) out.push({ severity: 'error', rule: ruleOfBuildError(m[4]), message: m[4], file: resolve(entry, '..', m[1]), line: Number(m[2]), column: Number(m[3]) });
  }
  if (out.length === 0) out.push({ severity: 'error', rule: ruleOfBuildError(message), message: message.split('\n')[0], file: entry, line: 1, column: 1 });
  return out;
}

/** `outside-import` for an import the bundler refused because it resolves outside the game folder, else `build`. */
function ruleOfBuildError(text: string): string {
  return /outside the game folder/.test(text) ? 'outside-import' : 'build';
}
