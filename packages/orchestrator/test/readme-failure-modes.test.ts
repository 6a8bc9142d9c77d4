/**
 * The README's failure-mode table cites real tests: every `file.test.ts` "test name" in its
 * "proved by" column names a test that exists in that file, and every row cites one or says why not.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('../', import.meta.url));
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(`${pkg}README.md`, 'utf8');

function table(): string[][] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Failure modes\n'));
  if (!section) throw new Error('README has no "## Failure modes" section');
  return section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| ---') && !l.startsWith('| fault '))
    .map((l) => l.slice(2, -2).split(' | '));
}

/** The (file, name) pairs a cell cites: each quoted name belongs to the last backticked test file before it. */
function citations(cell: string): Array<{ file: string; name: string }> {
  const out: Array<{ file: string; name: string }> = [];
  let file: string | null = null;
  for (const m of cell.matchAll(/`([\w./-]+\.test\.ts)`|"([^"]+)"/g)) {
    if (m[1]) file = m[1];
    else if (file) out.push({ file, name: m[2] });
  }
  return out;
}

describe('README failure modes', () => {
  it('every row has five cells and cites a test (or is marked intended / says there is none)', () => {
    const rows = table();
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const row of rows) {
      expect(row, row[0]).toHaveLength(5);
      const cited = citations(row[4]).length > 0;
      expect(cited || /\(intended\)|no dedicated test/.test(row[4]), `row "${row[0]}" cites no test`).toBe(true);
    }
  });

  it('every cited test exists in the file named', () => {
    const missing: string[] = [];
    for (const row of table()) {
      for (const { file, name } of citations(row[4])) {
        const path = file.startsWith('packages/') ? `${repo}${file}` : `${pkg}test/${file}`;
        const src = existsSync(path) ? readFileSync(path, 'utf8') : '';
        const wanted = name.endsWith('…') ? name.slice(0, -1) : name;
        if (!src.includes(wanted)) missing.push(`${file}: "${name}"`);
      }
    }
    expect(missing).toEqual([]);
  });
});
