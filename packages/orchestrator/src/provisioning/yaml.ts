/**
 * A small YAML writer for Kubernetes manifests: plain objects, arrays, strings, numbers and
 * booleans, block style, two-space indent, keys in insertion order (so the output is the same
 * for the same input, byte for byte). A string that a YAML reader could take for anything but
 * that string (`true`, `8080`, `null`, `a: b`, `$(POD_NAME)`, leading/trailing spaces…) is
 * written double-quoted with JSON escapes, which YAML reads back unchanged. No dependency: the
 * manifest generator works where `@kubernetes/client-node` is not installed.
 */

/** A value {@link toYaml} writes. */
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue | undefined };

/**
 * A plain scalar YAML reads back as this same string: an optional `-`/`--` then a letter, `_` or
 * `/`, then letters, digits and `_ . / = : -` (a `:` never last), and not a YAML 1.1/1.2 keyword.
 */
const PLAIN = /^(?:--?)?[A-Za-z_/][A-Za-z0-9_./=:-]*$/;
const KEYWORDS = /^(?:true|false|yes|no|on|off|y|n|null|~)$/i;

function scalar(v: string | number | boolean | null): string {
  if (v === null) return 'null';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`toYaml: ${v} is not a finite number`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return PLAIN.test(v) && !v.endsWith(':') && !KEYWORDS.test(v) ? v : JSON.stringify(v);
}

const isScalar = (v: YamlValue): v is string | number | boolean | null => v === null || typeof v !== 'object';
const entries = (o: { [key: string]: YamlValue | undefined }): Array<[string, YamlValue]> =>
  Object.entries(o).filter((e): e is [string, YamlValue] => e[1] !== undefined);

/** Lines of `v` at `indent` spaces, as the value of a key (`inKey`) or of a list item. */
function block(v: YamlValue, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if (isScalar(v)) return [pad + scalar(v)];
  if (Array.isArray(v)) {
    if (v.length === 0) return [`${pad}[]`];
    const out: string[] = [];
    for (const item of v) {
      if (isScalar(item) || (Array.isArray(item) ? item.length === 0 : entries(item).length === 0)) {
        out.push(`${pad}- ${isScalar(item) ? scalar(item) : Array.isArray(item) ? '[]' : '{}'}`);
        continue;
      }
      // The item's first line goes after "- ", the rest two spaces deeper than the dash.
      const lines = block(item, indent + 2);
      out.push(`${pad}- ${lines[0]!.slice(indent + 2)}`, ...lines.slice(1));
    }
    return out;
  }
  const kv = entries(v);
  if (kv.length === 0) return [`${pad}{}`];
  const out: string[] = [];
  for (const [k, val] of kv) {
    const key = scalar(k);
    if (isScalar(val)) out.push(`${pad}${key}: ${scalar(val)}`);
    else if (Array.isArray(val) ? val.length === 0 : entries(val).length === 0) out.push(`${pad}${key}: ${Array.isArray(val) ? '[]' : '{}'}`);
    else out.push(`${pad}${key}:`, ...block(val, Array.isArray(val) ? indent : indent + 2));
  }
  return out;
}

/**
 * One YAML document of `v` (no `---`), ending with a newline.
 * @throws Error for a number that is not finite.
 */
export function toYaml(v: YamlValue): string {
  return `${block(v, 0).join('\n')}\n`;
}

/** A YAML stream of several documents, each after a `---` line. */
export function toYamlStream(docs: YamlValue[]): string {
  return docs.map((d) => `---\n${toYaml(d)}`).join('');
}
