/**
 * The id and label rules, written once: room ids and types, label keys, and label matching. The
 * schemas (`schemas.ts`) build on them; placement and the read model match labels with them.
 */

/** Room ids: 1–64 of `A–Z a–z 0–9 _ -` (the server's room ids). */
export const ROOM_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Room types (game names): 1–64 of `A–Z a–z 0–9 . _ -`, starting alphanumeric. */
export const ROOM_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Label keys: 1–63 of `A–Z a–z 0–9 _ . / -`. */
export const LABEL_KEY_RE = /^[A-Za-z0-9_./-]{1,63}$/;

/** Whether `have` has every label of `want`. */
export function labelsMatch(have: Readonly<Record<string, string>>, want: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(want)) if (have[k] !== v) return false;
  return true;
}
