/** Minimal source map v3 reader: maps a generated (line, column) back to the original. */

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

/** One mapping: generated column → original line/column (0-based). */
interface Segment {
  genCol: number;
  line: number;
  col: number;
}

/** Decoded `mappings` of a source map, per generated line (0-based). */
export class SourceMapLookup {
  private readonly lines: Segment[][] = [];

  constructor(mappings: string) {
    let srcLine = 0;
    let srcCol = 0;
    let srcIdx = 0;
    let nameIdx = 0;
    for (const lineText of mappings.split(';')) {
      const segs: Segment[] = [];
      let genCol = 0;
      for (const segText of lineText.split(',')) {
        if (!segText) continue;
        const v = decodeVlq(segText);
        genCol += v[0];
        if (v.length >= 4) {
          srcIdx += v[1];
          srcLine += v[2];
          srcCol += v[3];
          if (v.length >= 5) nameIdx += v[4];
          segs.push({ genCol, line: srcLine, col: srcCol });
        }
      }
      this.lines.push(segs);
    }
    void srcIdx;
    void nameIdx;
  }

  /** Original 1-based line and 0-based column of a generated 1-based line, 0-based column; `null` if unmapped. */
  original(line: number, column: number): { line: number; column: number } | null {
    const segs = this.lines[line - 1];
    if (!segs || segs.length === 0) return null;
    let best: Segment | null = null;
    for (const s of segs) {
      if (s.genCol <= column) best = s;
      else break;
    }
    best ??= segs[0];
    return { line: best.line + 1, column: best.col };
  }
}

function decodeVlq(s: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of s) {
    const digit = B64_INDEX.get(ch);
    if (digit === undefined) break;
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      const neg = value & 1;
      value >>>= 1;
      out.push(neg ? -value : value);
      value = 0;
      shift = 0;
    }
  }
  return out;
}
