/** Types of generate.mjs for the TypeScript tests. */
import type * as FieldTable from './fields.mjs';

/** Output files, relative to the package root. */
export declare const OUTPUTS: readonly string[];
/** The generated files (path relative to the package root → text) for a field table (default: fields.mjs). */
export declare function generate(table?: typeof FieldTable): Map<string, string>;
