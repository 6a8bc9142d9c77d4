import { readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { extname, join, relative, resolve } from 'node:path';
import { resolveMetadata, type GameClass, type InputEvent, type ResolvedGameMetadata } from '@parlor/squish';
import { parse, type Node as AcornNode } from 'acorn';
import { fullAncestor } from 'acorn-walk';
import { transformSync, type Loader } from 'esbuild';
import type { EngineToHostMessage } from '../engine/messages.js';
import { bundleGame, evaluateBundle, findGameEntry, validateGameClass } from '../games/loader.js';
import { createConsoleLogger, type Logger } from '../logger.js';
import { ALLOWED_BUILTINS } from '../runner/builtins.js';
import { createRuntime, type RuntimeChoice } from '../runtime/policy.js';
import type { SessionRuntime } from '../runtime/runtime.js';
import { SourceMapLookup } from './sourcemap.js';

/** One problem found by {@link validateGame}. Lines are 1-based, columns 1-based. */
export interface GateFinding {
  /** `'error'` fails the gate; `'warning'` does not. */
  severity: 'error' | 'warning';
  /**
   * Stable rule id: `builtin-import`, `dynamic-import`, `dynamic-require`, `eval`,
   * `function-constructor`, `process-internals`, `network`, `syntax`, `size`, `build`, `no-entry`,
   * `no-game-class`, `metadata`, `smoke-error`, `smoke-crash`, `smoke-no-frames`, `smoke-tick-budget`.
   */
  rule: string;
  message: string;
  /** Absolute path of the file. */
  file: string;
  line: number;
  column: number;
}

/** Result of the smoke run. Durations in ms. */
export interface SmokeResult {
  /** Runtime the smoke run used, e.g. `'process'`. */
  runtime: string;
  durationMs: number;
  players: number;
  inputsSent: number;
  /** Tick messages (`frames`) received from the engine. */
  ticks: number;
  /** Frames addressed to players (sum over ticks of recipients). */
  framesToPlayers: number;
  /** 99th percentile of the engine's tick time (game `tick` + encoding). */
  p99TickMs: number;
  maxTickMs: number;
  /** Budget the p99 was checked against: the tick interval (1000 / tickRate). */
  tickBudgetMs: number;
  /** Game errors reported during the run. */
  errors: number;
}

/** The gate's verdict on a game folder. */
export interface GateReport {
  /** `true` when there is no `error` finding. */
  ok: boolean;
  /** The game folder (absolute). */
  dir: string;
  /** The entry file, or `null` if none was found. */
  entry: string | null;
  /** Files scanned (absolute paths). */
  files: string[];
  findings: GateFinding[];
  /** The game's resolved metadata when it loaded. */
  metadata: ResolvedGameMetadata | null;
  /** The smoke run, when it ran (it is skipped after static errors). */
  smoke: SmokeResult | null;
}

/** Options of {@link validateGame}. Sizes in bytes, durations in ms. */
export interface ValidateOptions {
  /** Runtime for loading and the smoke run: a choice as in `createGameServer`. Default `'auto'` (the strongest available). */
  runtime?: RuntimeChoice;
  /** Length of the smoke run; `0` skips it. Default 2000. */
  smokeMs?: number;
  /** Synthetic players in the smoke run (capped by `maxPlayers`). Default 2. */
  players?: number;
  /** Largest source file. Default 1 MiB. */
  maxFileBytes?: number;
  /** Largest total of the game's source files. Default 5 MiB. */
  maxTotalBytes?: number;
  /** Largest bundle. Default 5 MiB. */
  maxBundleBytes?: number;
  /** Most source files. Default 500. */
  maxFiles?: number;
  /** Built-ins the game may import. Default {@link ALLOWED_BUILTINS}. */
  allowedBuiltins?: readonly string[];
  /** Where the runtime logs the game's output. Default: a console logger at `warn`. */
  logger?: Logger;
}

const SOURCE_EXT = new Set(['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs']);
const BUILTINS = new Set(builtinModules.map((m) => m.replace(/^node:/, '')));
const PROCESS_INTERNALS = new Set(['binding', '_linkedBinding', 'dlopen', 'getBuiltinModule', 'kill', 'mainModule', 'reallyExit', '_kill', 'setuid', 'setgid', 'chdir']);
/** Process internals flagged on any object (the name alone is specific enough). */
const ALWAYS_INTERNAL = new Set(['_linkedBinding', 'dlopen', 'getBuiltinModule', 'mainModule', 'reallyExit', '_kill']);
/** Globals whose prototypes (or own methods) a game must not replace. */
const PROTECTED_GLOBALS = new Set(['Object', 'Array', 'Function', 'String', 'Number', 'Boolean', 'Promise', 'Map', 'Set', 'WeakMap', 'RegExp', 'Error', 'Symbol', 'JSON', 'Math', 'Reflect', 'Date', 'Uint8Array', 'ArrayBuffer']);
const NETWORK_GLOBALS = new Set(['fetch', 'WebSocket', 'XMLHttpRequest', 'EventSource']);

/**
 * The publish gate: decides whether a game folder may be published.
 *
 * 1. **Static scan** of every JS/TS file of the folder (not `node_modules`) and every file the
 *    bundle pulls in: each is transformed with esbuild (TS → JS, source map kept) and parsed with
 *    acorn. Rejected: imports/requires of Node built-ins outside the allow-list (`fs`, `net`,
 *    `http`, `child_process`, `worker_threads`, `vm`, `inspector`, …), `eval`, `Function`/`new
 *    Function`, `x.constructor(…)`, non-literal `import()`/`require()`, `process.binding` and other
 *    process internals, `fetch`/`WebSocket`; file, total and bundle size limits.
 * 2. **Load**: bundle, then evaluate in the runtime's sandbox; the default export must extend
 *    `Game` with a valid `metadata()`.
 * 3. **Smoke run** of `smokeMs` in the strongest runtime available with synthetic players sending
 *    random input: no uncaught errors, frames produced, p99 tick time within the tick interval.
 *
 * Every finding carries file:line:column. Never throws for a bad game; the report says why.
 * @throws {RuntimeError} only when the requested runtime is unavailable or refused.
 */
export async function validateGame(dir: string, options: ValidateOptions = {}): Promise<GateReport> {
  const root = resolve(dir);
  const logger = options.logger ?? createConsoleLogger('warn');
  const findings: GateFinding[] = [];
  const report: GateReport = { ok: false, dir: root, entry: null, files: [], findings, metadata: null, smoke: null };
  const limits = {
    file: options.maxFileBytes ?? 1024 * 1024,
    total: options.maxTotalBytes ?? 5 * 1024 * 1024,
    bundle: options.maxBundleBytes ?? 5 * 1024 * 1024,
    files: options.maxFiles ?? 500,
  };
  const allowed = new Set((options.allowedBuiltins ?? ALLOWED_BUILTINS).map((m) => m.replace(/^node:/, '')));

  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    // handled below
  }
  const entry = isDir ? findGameEntry(root) : isFileSafe(root) ? root : null;
  report.entry = entry;
  if (!entry) {
    findings.push({ severity: 'error', rule: 'no-entry', message: 'no entry file (package.json "main", index.ts, index.js or index.mjs)', file: root, line: 1, column: 1 });
    return finish(report);
  }
  const baseDir = isDir ? root : resolve(root, '..');

  // 1. Static scan.
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
      const size = statSync(file).size;
      total += size;
      if (size > limits.file) {
        findings.push({ severity: 'error', rule: 'size', message: `file is ${size} bytes (limit ${limits.file})`, file, line: 1, column: 1 });
        return;
      }
      text = readFileSync(file, 'utf8');
    } catch (err) {
      findings.push({ severity: 'error', rule: 'syntax', message: `cannot read: ${(err as Error).message}`, file, line: 1, column: 1 });
      return;
    }
    findings.push(...scanSource(text, file, allowed));
  };
  for (const f of files.slice(0, limits.files)) scanFile(f);

  // 2. Bundle: every input that ends up in the game is scanned too (dependencies included).
  let bundle: { code: string; filename: string } | null = null;
  try {
    const built = await bundleGame(entry);
    bundle = { code: built.code, filename: entry };
    for (const f of built.inputs) if (SOURCE_EXT.has(extname(f))) scanFile(f);
    if (built.code.length > limits.bundle) {
      findings.push({ severity: 'error', rule: 'size', message: `bundle is ${built.code.length} bytes (limit ${limits.bundle})`, file: entry, line: 1, column: 1 });
    }
  } catch (err) {
    for (const f of parseBuildErrors((err as Error).message, entry)) findings.push(f);
  }
  if (total > limits.total) {
    findings.push({ severity: 'error', rule: 'size', message: `sources total ${total} bytes (limit ${limits.total})`, file: root, line: 1, column: 1 });
  }
  report.files = [...scanned];
  if (!bundle || findings.some((f) => f.severity === 'error')) return finish(report);

  // 3. Load in the sandbox and check the class and its metadata.
  const runtime = createRuntime(options.runtime ?? 'auto', { logger, production: false });
  const where = defaultExportLocation(entry);
  let hostClass: GameClass | undefined;
  try {
    let metadata: ResolvedGameMetadata;
    if (runtime.inspect) {
      const inspected = await runtime.inspect(bundle, baseDir);
      metadata = resolveMetadata(inspected.metadata);
    } else {
      const checked = validateGameClass(evaluateBundle(bundle.code, entry), entry);
      metadata = checked.metadata;
      hostClass = checked.gameClass;
    }
    report.metadata = metadata;
  } catch (err) {
    const msg = (err as Error).message.replace(`${entry}: `, '');
    const rule = /extend Game|default export|no static metadata/.test(msg) ? 'no-game-class' : 'metadata';
    findings.push({ severity: 'error', rule, message: msg, file: entry, line: where.line, column: where.column });
    await runtime.close?.();
    return finish(report);
  }

  // 4. Smoke run.
  const smokeMs = options.smokeMs ?? 2000;
  if (smokeMs > 0) {
    try {
      report.smoke = await smokeRun(runtime, hostClass, bundle, baseDir, report.metadata, smokeMs, options.players ?? 2, entry, where, findings, logger);
    } finally {
      await runtime.close?.();
    }
  } else {
    await runtime.close?.();
  }
  return finish(report);
}

function finish(report: GateReport): GateReport {
  report.findings.sort((a, b) => (a.file === b.file ? a.line - b.line || a.column - b.column : a.file.localeCompare(b.file)));
  report.ok = !report.findings.some((f) => f.severity === 'error');
  return report;
}

/**
 * Scans one JS/TS source text (static rules of {@link validateGame}). TypeScript is transformed
 * with esbuild first; positions are mapped back to the original through the source map.
 */
export function scanSource(text: string, file: string, allowedBuiltins: ReadonlySet<string> = new Set(ALLOWED_BUILTINS)): GateFinding[] {
  const findings: GateFinding[] = [];
  const ext = extname(file);
  let js = text;
  let map: SourceMapLookup | null = null;
  if (ext !== '.js' && ext !== '.mjs' && ext !== '.cjs') {
    const loader: Loader = ext === '.tsx' ? 'tsx' : ext === '.jsx' ? 'jsx' : 'ts';
    try {
      const out = transformSync(text, {
        loader,
        sourcemap: 'external',
        sourcefile: file,
        target: 'esnext',
        jsx: 'preserve',
        // Keep every value import, used or not: the scan judges what the author wrote.
        tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
      });
      js = out.code;
      map = new SourceMapLookup((JSON.parse(out.map) as { mappings: string }).mappings);
    } catch (err) {
      const e = (err as { errors?: Array<{ text: string; location?: { line: number; column: number } }> }).errors?.[0];
      findings.push({ severity: 'error', rule: 'syntax', message: e?.text ?? (err as Error).message, file, line: e?.location?.line ?? 1, column: (e?.location?.column ?? 0) + 1 });
      return findings;
    }
  }
  let ast: AcornNode;
  try {
    ast = parse(js, {
      ecmaVersion: 'latest',
      sourceType: 'module',
      locations: true,
      allowHashBang: true,
      allowReturnOutsideFunction: true,
      allowImportExportEverywhere: true,
      allowAwaitOutsideFunction: true,
    });
  } catch (err) {
    const loc = (err as { loc?: { line: number; column: number } }).loc;
    const pos = loc ? (map?.original(loc.line, loc.column) ?? { line: loc.line, column: loc.column }) : { line: 1, column: 0 };
    findings.push({ severity: 'error', rule: 'syntax', message: (err as Error).message.replace(/\s*\(\d+:\d+\)$/, ''), file, line: pos.line, column: pos.column + 1 });
    return findings;
  }
  const add = (node: AcornNode, rule: string, message: string): void => {
    const start = node.loc?.start ?? { line: 1, column: 0 };
    const pos = map?.original(start.line, start.column) ?? { line: start.line, column: start.column };
    findings.push({ severity: 'error', rule, message, file, line: pos.line, column: pos.column + 1 });
  };
  const checkModule = (node: AcornNode, id: string, how: string): void => {
    const bare = id.replace(/^node:/, '').split('/')[0];
    if ((id.startsWith('node:') || BUILTINS.has(bare)) && !allowedBuiltins.has(bare)) {
      add(node, 'builtin-import', `${how} of the Node built-in '${id}' is not allowed (allowed: ${[...allowedBuiltins].join(', ') || 'none'})`);
    }
  };
  const literal = (n: AnyNode | undefined): string | null => {
    if (!n) return null;
    if (n.type === 'Literal' && typeof n.value === 'string') return n.value;
    if (n.type === 'TemplateLiteral' && n.expressions?.length === 0) return n.quasis?.[0]?.value?.cooked ?? null;
    return null;
  };
  fullAncestor(ast, (raw, _state, ancestors) => {
    const n = raw as AnyNode;
    const parent = ancestors[ancestors.length - 2] as AnyNode | undefined;
    switch (n.type) {
      case 'Identifier': {
        if (!parent || !isReference(n, parent)) return;
        if (n.name === 'require' && !(parent.type === 'CallExpression' && parent.callee === n) && !(parent.type === 'UnaryExpression')) {
          add(n, 'dynamic-require', 'require used as a value (aliased or passed around) is not allowed');
        } else if (n.name === 'eval' && !(parent.type === 'CallExpression' && parent.callee === n)) {
          add(n, 'eval', 'eval is not allowed (even indirectly)');
        } else if (n.name === 'Function' && !((parent.type === 'CallExpression' || parent.type === 'NewExpression') && parent.callee === n) && parent.type !== 'BinaryExpression') {
          add(n, 'function-constructor', 'the Function constructor is not allowed (code from strings)');
        }
        return;
      }
      case 'AssignmentExpression': {
        const left = n.left;
        if (left?.type === 'MemberExpression') {
          const obj = left.object;
          const protoOf = obj?.type === 'MemberExpression' && propName(obj) === 'prototype' && obj.object?.type === 'Identifier' ? obj.object.name : null;
          const globalOwn = obj?.type === 'Identifier' && PROTECTED_GLOBALS.has(obj.name ?? '') ? obj.name : null;
          if ((protoOf && PROTECTED_GLOBALS.has(protoOf)) || globalOwn) {
            add(n, 'prototype-pollution', `assigning to ${protoOf ? `${protoOf}.prototype` : globalOwn}.${propName(left) ?? '[…]'} (a built-in) is not allowed`);
          }
        }
        return;
      }
      case 'ImportDeclaration':
      case 'ExportNamedDeclaration':
      case 'ExportAllDeclaration': {
        const id = literal(n.source);
        if (id !== null) checkModule(n, id, 'import');
        return;
      }
      case 'ImportExpression': {
        const id = literal(n.source);
        if (id === null) add(n, 'dynamic-import', 'import() with a non-literal module name is not allowed');
        else checkModule(n, id, 'import()');
        return;
      }
      case 'CallExpression':
      case 'NewExpression': {
        const callee = n.callee;
        if (callee?.type === 'Identifier') {
          if (callee.name === 'require' && n.type === 'CallExpression') {
            const id = literal(n.arguments?.[0]);
            if (id === null) add(n, 'dynamic-require', 'require() with a non-literal module name is not allowed');
            else checkModule(n, id, 'require()');
          } else if (callee.name === 'eval') add(n, 'eval', 'eval() is not allowed');
          else if (callee.name === 'Function') add(n, 'function-constructor', `${n.type === 'NewExpression' ? 'new ' : ''}Function() is not allowed (code from strings)`);
          else if (NETWORK_GLOBALS.has(callee.name ?? '')) add(n, 'network', `${callee.name} is not available to games (the sandbox has no network)`);
        } else if (callee?.type === 'MemberExpression') {
          const prop = propName(callee);
          if (prop === 'eval') add(n, 'eval', 'eval() is not allowed');
          else if (prop === 'Function') add(n, 'function-constructor', 'Function() is not allowed (code from strings)');
          else if (prop === 'constructor') add(n, 'function-constructor', 'calling .constructor(…) is not allowed (a way to reach Function)');
          else if (prop && NETWORK_GLOBALS.has(prop) && callee.object?.type === 'Identifier' && /^(globalThis|window|self|global)$/.test(callee.object.name ?? '')) {
            add(n, 'network', `${prop} is not available to games (the sandbox has no network)`);
          }
        }
        return;
      }
      case 'MemberExpression': {
        const prop = propName(n);
        const onProcess = (n.object?.type === 'Identifier' && n.object.name === 'process') || (n.object?.type === 'MemberExpression' && propName(n.object) === 'process');
        if (prop && ((onProcess && PROCESS_INTERNALS.has(prop)) || ALWAYS_INTERNAL.has(prop))) {
          add(n, 'process-internals', `process.${prop} is not allowed`);
        }
        if (prop === '__proto__' || (prop === 'prototype' && n.object?.type === 'Identifier' && n.object.name === 'Object' && parent?.type === 'CallExpression')) {
          // Object.defineProperty(Object.prototype, …) and friends
          if (prop === '__proto__') add(n, 'prototype-pollution', '__proto__ is not allowed');
          else add(n, 'prototype-pollution', 'passing Object.prototype to a function (e.g. defineProperty) is not allowed');
        }
        if (n.object?.type === 'Identifier' && n.object.name === 'require' && (prop === 'main' || prop === 'cache')) {
          add(n, 'process-internals', `require.${prop} is not allowed`);
        }
        return;
      }
    }
  });
  return findings;
}

/** The acorn node shapes the scan reads (loosely typed). */
interface AnyNode extends AcornNode {
  source?: AnyNode;
  left?: AnyNode;
  key?: AnyNode;
  local?: AnyNode;
  imported?: AnyNode;
  exported?: AnyNode;
  label?: AnyNode;
  callee?: AnyNode;
  arguments?: AnyNode[];
  object?: AnyNode;
  property?: AnyNode;
  computed?: boolean;
  name?: string;
  value?: unknown;
  expressions?: AnyNode[];
  quasis?: Array<{ value?: { cooked?: string } }>;
}

/** Whether an Identifier is a variable reference (not a property name, key, label or import/export name). */
function isReference(n: AnyNode, parent: AnyNode): boolean {
  switch (parent.type) {
    case 'MemberExpression':
      return parent.object === n || (parent.computed === true && parent.property === n);
    case 'Property':
    case 'MethodDefinition':
    case 'PropertyDefinition':
      return parent.computed === true ? parent.key === n : parent.key !== n;
    case 'ImportSpecifier':
    case 'ImportDefaultSpecifier':
    case 'ImportNamespaceSpecifier':
    case 'ExportSpecifier':
    case 'LabeledStatement':
    case 'BreakStatement':
    case 'ContinueStatement':
    case 'MetaProperty':
      return false;
    default:
      return true;
  }
}

function propName(m: AnyNode): string | null {
  const p = m.property;
  if (!p) return null;
  if (!m.computed && p.type === 'Identifier') return p.name ?? null;
  if (p.type === 'Literal' && typeof p.value === 'string') return p.value;
  return null;
}

function listSources(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && SOURCE_EXT.has(extname(e.name)) && !/\.d\.[cm]?ts$/.test(e.name)) out.push(p);
      if (out.length > 10_000) return;
    }
  };
  walk(root);
  return out.sort();
}

function isFileSafe(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function parseBuildErrors(message: string, entry: string): GateFinding[] {
  const out: GateFinding[] = [];
  for (const line of message.split('\n')) {
    const m = /^\s*(.+?):(\d+):(\d+): (.*)$/.exec(line);
    if (m) out.push({ severity: 'error', rule: 'build', message: m[4], file: resolve(entry, '..', m[1]), line: Number(m[2]), column: Number(m[3]) });
  }
  if (out.length === 0) out.push({ severity: 'error', rule: 'build', message: message.split('\n')[0], file: entry, line: 1, column: 1 });
  return out;
}

/** Location of `export default` in the entry (for class/metadata findings); 1:1 if not found. */
function defaultExportLocation(entry: string): { line: number; column: number } {
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

const SMOKE_KEYS = ['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'w', 'a', 's', 'd', ' ', 'Enter', '+', '-'];

async function smokeRun(
  runtime: SessionRuntime,
  gameClass: GameClass | undefined,
  bundle: { code: string; filename: string },
  baseDir: string,
  metadata: ResolvedGameMetadata,
  durationMs: number,
  wantPlayers: number,
  entry: string,
  where: { line: number; column: number },
  findings: GateFinding[],
  logger: Logger,
): Promise<SmokeResult> {
  const players = Math.max(1, Math.min(wantPlayers, metadata.maxPlayers));
  const tickMs: number[] = [];
  const tickAt: number[] = [];
  let framesToPlayers = 0;
  let errors = 0;
  let inputs = 0;
  let fatal = false;
  let stopped = false;
  const seen = new Set<string>();
  const locate = (stack: string): { file: string; line: number; column: number } => {
    // Stack frames of the bundle point at the entry's file name; use them when present.
    const m = new RegExp(`${escapeRe(bundle.filename)}:(\\d+):(\\d+)`).exec(stack);
    return m ? { file: entry, line: Number(m[1]), column: Number(m[2]) } : { file: entry, ...where };
  };
  const started = performance.now();
  const session = runtime.start({ sessionId: 'gate-smoke', game: 'gate', gameClass: gameClass as GameClass, bundle, baseDir, logger, maxConsecutiveErrors: 50 });
  session.onMessage((msg: EngineToHostMessage) => {
    switch (msg.type) {
      case 'frames':
        tickMs.push(msg.tickMs);
        tickAt.push(performance.now() - started);
        framesToPlayers += msg.sends.length;
        return;
      case 'error': {
        errors++;
        if (msg.fatal) fatal = true;
        const key = `${msg.where}:${msg.message}`;
        if (seen.has(key)) return;
        seen.add(key);
        const rule = msg.where === 'watchdog' || msg.where === 'process' || msg.where === 'channel' ? 'smoke-crash' : 'smoke-error';
        findings.push({ severity: 'error', rule, message: `${msg.where}: ${msg.message}`, ...locate(msg.stack) });
        return;
      }
      case 'stopped':
        stopped = true;
        return;
    }
  });
  for (let p = 1; p <= players; p++) session.send({ type: 'join', playerId: p, name: `Bot ${p}`, spectator: false });
  session.send({ type: 'join', playerId: players + 1, name: 'Watcher', spectator: true });
  const rnd = (n: number) => Math.floor(Math.random() * n);
  const held = new Map<number, Set<string>>();
  while (performance.now() - started < durationMs && !stopped) {
    await new Promise((r) => setTimeout(r, 20));
    for (let p = 1; p <= players; p++) {
      const keys = held.get(p) ?? new Set<string>();
      held.set(p, keys);
      const x = Math.random() * 100;
      const y = Math.random() * 100;
      const choice = rnd(7);
      let event: InputEvent;
      if (choice === 0) {
        const key = SMOKE_KEYS[rnd(SMOKE_KEYS.length)];
        event = keys.has(key) ? { kind: 'keyup', key } : { kind: 'keydown', key };
        if (keys.has(key)) keys.delete(key);
        else keys.add(key);
      } else if (choice === 1) event = { kind: 'pointermove', x, y };
      else if (choice === 2) event = { kind: 'pointerdown', x, y };
      else if (choice === 3) event = { kind: 'pointerup', x, y };
      else if (choice === 4) event = { kind: 'click', nodeId: 1 + rnd(200), x, y };
      else if (choice === 5) event = { kind: 'text', text: 'hello' };
      else event = { kind: 'gamepad', index: 0, buttons: [Math.random() < 0.5 ? 1 : 0], axes: [Math.random() * 2 - 1, Math.random() * 2 - 1] };
      session.send({ type: 'input', playerId: p, event });
      inputs++;
    }
  }
  session.send({ type: 'leave', playerId: 1 });
  await new Promise((r) => setTimeout(r, 50));
  await session.terminate();
  // The first 500 ms are warm-up (JIT, first full frames): judge the budget on the rest when there is enough.
  const warm = tickMs.filter((_, i) => tickAt[i] >= 500);
  const sorted = [...(warm.length >= 10 ? warm : tickMs)].sort((a, b) => a - b);
  const p99 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] : 0;
  const budget = 1000 / metadata.tickRate;
  if (!fatal && framesToPlayers === 0) {
    findings.push({ severity: 'error', rule: 'smoke-no-frames', message: `no frames reached the ${players} synthetic player(s) in ${durationMs} ms`, file: entry, ...where });
  }
  if (p99 > budget) {
    findings.push({ severity: 'error', rule: 'smoke-tick-budget', message: `p99 tick time ${p99.toFixed(2)} ms exceeds the tick interval ${budget.toFixed(2)} ms`, file: entry, ...where });
  }
  return {
    runtime: runtime.name,
    durationMs: Math.round(performance.now() - started),
    players,
    inputsSent: inputs,
    ticks: tickMs.length,
    framesToPlayers,
    p99TickMs: Number(p99.toFixed(3)),
    maxTickMs: Number((sorted[sorted.length - 1] ?? 0).toFixed(3)),
    tickBudgetMs: Number(budget.toFixed(3)),
    errors,
  };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Formats a {@link GateReport} for people: one `file:line:col: severity [rule] message` per finding, then a verdict. */
export function formatGateReport(report: GateReport, cwd = process.cwd()): string {
  const rel = (f: string) => {
    const r = relative(cwd, f);
    return r && !r.startsWith('..') ? r : f;
  };
  const out: string[] = [];
  for (const f of report.findings) out.push(`${rel(f.file)}:${f.line}:${f.column}: ${f.severity} [${f.rule}] ${f.message}`);
  if (report.metadata) out.push(`game: ${report.metadata.name} (tick rate ${report.metadata.tickRate} Hz, ${report.metadata.maxPlayers} players max)`);
  if (report.smoke) {
    const s = report.smoke;
    out.push(
      `smoke run (${s.runtime}, ${s.durationMs} ms, ${s.players} players, ${s.inputsSent} inputs): ${s.ticks} ticks, ${s.framesToPlayers} frames to players, p99 tick ${s.p99TickMs} ms (budget ${s.tickBudgetMs} ms), ${s.errors} game errors`,
    );
  }
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  out.push(report.ok ? `PASS ${rel(report.dir)}: ${report.files.length} files checked` : `FAIL ${rel(report.dir)}: ${errors} error${errors === 1 ? '' : 's'}`);
  return out.join('\n');
}
