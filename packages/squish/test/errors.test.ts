import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ParlorError, SceneError, SquishDecodeError, SquishEncodeError, SquishErrorCode, unsquish } from '@parlor/squish';

/** A second, separate copy of squish's errors module (as a CJS and an ESM copy side by side would be). */
async function secondCopy(): Promise<typeof import('../src/wire/errors.js')> {
  const url = new URL('../src/wire/errors.ts?second-copy', import.meta.url).href;
  return (await import(/* @vite-ignore */ url)) as typeof import('../src/wire/errors.js');
}

describe('ParlorError', () => {
  it('keeps code, name and cause', () => {
    const cause = new Error('inner');
    const e = new ParlorError('SQUISH_TEST', 'outer', { cause });
    expect(e).toMatchObject({ code: 'SQUISH_TEST', name: 'ParlorError', message: 'outer' });
    expect(e.cause).toBe(cause);
    const d = new SquishDecodeError('bad', 3, { cause });
    expect(d).toMatchObject({ code: SquishErrorCode.DECODE, name: 'SquishDecodeError', offset: 3 });
    expect(d.cause).toBe(cause);
  });

  it('squish codes all carry the SQUISH_ prefix', () => {
    for (const code of Object.values(SquishErrorCode)) expect(code).toMatch(/^SQUISH_[A-Z_]+$/);
  });

  it('instanceof holds across two copies of the package, per class', async () => {
    const other = await secondCopy();
    expect(other.ParlorError).not.toBe(ParlorError);
    const theirs = new other.SquishDecodeError('bad', 0);
    const ours = new SquishDecodeError('bad', 0);
    // the prototype chains differ, the brands do not
    expect(Object.getPrototypeOf(theirs)).not.toBe(SquishDecodeError.prototype);
    expect(theirs instanceof SquishDecodeError).toBe(true);
    expect(theirs instanceof ParlorError).toBe(true);
    expect(ours instanceof other.SquishDecodeError).toBe(true);
    expect(ours instanceof other.ParlorError).toBe(true);
    expect(theirs instanceof Error).toBe(true);
    // a sibling class is not mistaken for another
    expect(theirs instanceof SquishEncodeError).toBe(false);
    expect(theirs instanceof SceneError).toBe(false);
    expect(new other.SceneError('x') instanceof SquishDecodeError).toBe(false);
    // a base instance is not an instance of a subclass
    expect(new other.ParlorError('X', 'x') instanceof SquishDecodeError).toBe(false);
    // plain values are not ParlorErrors
    for (const v of [null, undefined, 0, 'SQUISH_DECODE', {}, new Error('x'), { code: 'SQUISH_DECODE' }]) {
      expect(v instanceof ParlorError).toBe(false);
    }
  });

  // `npm test` builds first; run alone without a build, only the source copies above are compared
  const dist = fileURLToPath(new URL('../dist/', import.meta.url));
  it.skipIf(!existsSync(`${dist}index.cjs`) || !existsSync(`${dist}index.js`))('instanceof holds between the built CommonJS and ES module copies loaded side by side', async () => {
    type Squish = typeof import('@parlor/squish');
    const cjs = createRequire(import.meta.url)(`${dist}index.cjs`) as Squish;
    const esm = (await import(/* @vite-ignore */ pathToFileURL(`${dist}index.js`).href)) as Squish;
    expect(cjs.ParlorError).not.toBe(esm.ParlorError);
    const fromCjs = new cjs.SquishDecodeError('bad', 1);
    const fromEsm = new esm.SceneError('cycle');
    expect(fromCjs instanceof esm.SquishDecodeError && fromCjs instanceof esm.ParlorError && fromCjs instanceof ParlorError).toBe(true);
    expect(fromEsm instanceof cjs.SceneError && fromEsm instanceof cjs.ParlorError).toBe(true);
    expect(fromCjs instanceof esm.SceneError).toBe(false);
  });

  it('name comes from the brand, so a minifier that renames classes cannot change it', () => {
    const Renamed = { e: class extends SquishEncodeError {} }.e; // a subclass without a brand keeps its class name
    expect(new SquishEncodeError('x').name).toBe('SquishEncodeError');
    expect(new Renamed('x').name).toBe('e');
    const M = { a: class extends ParlorError { static override readonly brand: symbol = Symbol.for('parlor.error.MinifiedError'); } }.a;
    expect(M.name).toBe('a');
    expect(new M('X', 'x').name).toBe('MinifiedError');
  });

  it('a frozen error class still constructs (keeping the ordinary instanceof)', () => {
    class Frozen extends ParlorError {
      static override readonly brand: symbol = Symbol.for('parlor.error.FrozenTestError');
    }
    Object.freeze(Frozen.prototype);
    const e = new Frozen('X', 'x');
    expect(e instanceof Frozen && e instanceof ParlorError).toBe(true);
    expect(e.name).toBe('FrozenTestError');
  });

  it('a subclass without its own brand keeps the ordinary prototype check', async () => {
    class Local extends ParlorError {}
    const other = await secondCopy();
    expect(new Local('X', 'x') instanceof Local).toBe(true);
    expect(new Local('X', 'x') instanceof ParlorError).toBe(true);
    expect(new Local('X', 'x') instanceof other.ParlorError).toBe(true);
    expect(new other.ParlorError('X', 'x') instanceof Local).toBe(false);
  });

  it('decoders throw branded errors', () => {
    let thrown: unknown;
    try {
      unsquish(new Uint8Array([255, 255, 255]));
    } catch (err) {
      thrown = err;
    }
    expect(thrown instanceof SquishDecodeError).toBe(true);
    expect(thrown).toMatchObject({ code: 'SQUISH_DECODE' });
  });
});
