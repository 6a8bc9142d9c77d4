/**
 * Label matching for placement and the read model. The id and label rules themselves (room ids,
 * room types = game names, label keys) are written once, in `@parlor/squish` (`paths.ts`), and
 * the schemas (`schemas.ts`) build on them.
 */

/** Whether `have` has every label of `want`. */
export function labelsMatch(have: Readonly<Record<string, string>>, want: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(want)) if (have[k] !== v) return false;
  return true;
}
