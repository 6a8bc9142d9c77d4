/**
 * The README shows what CI runs: its tutorial game is `readme/click-the-dot.ts` and its "Testing
 * your game" example is `readme/click-the-dot.test.ts`, word for word. (Those two files are
 * type-checked as the README's blocks are, by packages/server/test/readme.test.ts: strict, as a
 * reader would paste them, which is why they sit outside the repository's own program.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (rel: string): string => readFileSync(new URL(rel, import.meta.url), 'utf8');
const readme = read('../../README.md');
const block = (marker: string): string | undefined =>
  new RegExp(`<!-- ${marker}:start -->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\`\\s*<!-- ${marker}:end -->`).exec(readme)?.[1];

describe('the README examples are the files that run', () => {
  it('the tutorial game is examples/test/readme/click-the-dot.ts', () => {
    expect(block('tutorial')).toBe(read('./readme/click-the-dot.ts'));
  });

  it('"Testing your game" is examples/test/readme/click-the-dot.test.ts', () => {
    expect(block('testing')).toBe(read('./readme/click-the-dot.test.ts'));
  });
});
