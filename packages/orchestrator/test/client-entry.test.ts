import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src/', import.meta.url));

/** Every module `file` reaches through value imports (`import type` does not load anything): relative files and package names. */
function reach(file: string, seen = new Set<string>(), packages = new Set<string>()): { files: Set<string>; packages: Set<string> } {
  if (seen.has(file)) return { files: seen, packages };
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'|^import\s+'([^']+)'|import\('([^']+)'\)/gm)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec.startsWith('.')) reach(resolve(dirname(file), spec.replace(/\.js$/, '.ts')), seen, packages);
    else packages.add(spec.replace(/^node:/, ''));
  }
  return { files: seen, packages };
}

describe('@parlor/orchestrator/client', () => {
  it('FleetClient loads none of the server code (no fastify, ws, pino, orchestrator modules)', () => {
    const { files, packages } = reach(resolve(src, 'client.ts'));
    expect([...files].map((f) => f.slice(src.length))).toEqual(['client.ts']);
    expect([...packages].sort()).toEqual(['@parlor/squish', 'crypto', 'eventsource-parser', 'undici']);
    // the walk does see the server's imports when they are there
    const all = reach(resolve(src, 'index.ts'));
    expect([...all.packages]).toEqual(expect.arrayContaining(['fastify', 'ws', 'pino', '@fastify/swagger']));
  });
});
