/**
 * The gate's static rules over one JS/TS source ({@link scanSource}): built-in imports outside the
 * allow-list, `eval`, the `Function` constructor, non-literal `import()`/`require()`, process
 * internals, prototype pollution, network globals, syntax. Each finding carries file:line:column
 * in the original source (TypeScript positions mapped back through esbuild's source map).
 */
import { SourceMap, builtinModules, type SourceMapPayload } from 'node:module';
import { extname } from 'node:path';
import { parse, type Node as AcornNode } from 'acorn';
import { fullAncestor } from 'acorn-walk';
import { transformSync, type Loader } from 'esbuild';
import { ALLOWED_BUILTINS } from '../runner/builtins.js';
import type { GateFinding } from './report.js';

const BUILTINS = new Set(builtinModules.map((m) => m.replace(/^node:/, '')));
const PROCESS_INTERNALS = new Set(['binding', '_linkedBinding', 'dlopen', 'getBuiltinModule', 'kill', 'mainModule', 'reallyExit', '_kill', 'setuid', 'setgid', 'chdir', 'report', 'openStdin']);
/** Process internals flagged on any object (the name alone is specific enough). */
const ALWAYS_INTERNAL = new Set(['_linkedBinding', 'dlopen', 'getBuiltinModule', 'mainModule', 'reallyExit', '_kill', '_getActiveHandles', '_getActiveRequests']);
/** Streams whose class is a socket (`net.Socket`, `Pipe`/`TCP` handles). */
const STDIO = new Set(['stdin', 'stdout', 'stderr']);
/** Globals whose prototypes (or own methods) a game must not replace. */
const PROTECTED_GLOBALS = new Set(['Object', 'Array', 'Function', 'String', 'Number', 'Boolean', 'Promise', 'Map', 'Set', 'WeakMap', 'RegExp', 'Error', 'Symbol', 'JSON', 'Math', 'Reflect', 'Date', 'Uint8Array', 'ArrayBuffer']);
const NETWORK_GLOBALS = new Set(['fetch', 'WebSocket', 'XMLHttpRequest', 'EventSource']);

/**
 * Scans one JS/TS source text (the static rules of the gate, `validateGame`). TypeScript is transformed
 * with esbuild first; positions are mapped back to the original through the source map.
 */
export function scanSource(text: string, file: string, allowedBuiltins: ReadonlySet<string> = new Set(ALLOWED_BUILTINS)): GateFinding[] {
  const findings: GateFinding[] = [];
  const ext = extname(file);
  let js = text;
  let map: TransformMap | null = null;
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
      map = new TransformMap(JSON.parse(out.map) as SourceMapPayload);
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
        } else if (n.name === 'internalBinding' || n.name === 'primordials') {
          add(n, 'process-internals', `${n.name} (Node internals) is not allowed`);
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
        // Issue 7 §1: a socket class reached through stdio (`process.stderr.constructor`, `._handle`).
        if (prop === '_handle') add(n, 'process-internals', '_handle (the OS handle behind a stream or socket) is not allowed');
        else if (prop === 'constructor' && n.object?.type === 'MemberExpression' && STDIO.has(propName(n.object) ?? '')) {
          add(n, 'process-internals', `${propName(n.object)}.constructor (a socket class) is not allowed`);
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

/** esbuild's source map of one transformed file, read with Node's `SourceMap`. */
class TransformMap {
  private readonly map: SourceMap;
  constructor(payload: SourceMapPayload) {
    this.map = new SourceMap(payload);
  }

  /** Original 1-based line and 0-based column of a generated 1-based line, 0-based column; `null` if that line has no mapping at or before it. */
  original(line: number, column: number): { line: number; column: number } | null {
    const e = this.map.findEntry(line - 1, column) as Partial<{ generatedLine: number; originalLine: number; originalColumn: number }>;
    if (e.generatedLine !== line - 1 || typeof e.originalLine !== 'number' || typeof e.originalColumn !== 'number') return null;
    return { line: e.originalLine + 1, column: e.originalColumn };
  }
}
