/**
 * Validation shared by the control API and the agent protocol: room ids and types, labels, and
 * the create request.
 */
import { FleetCause, OrchestratorError } from './errors.js';
import type { Placement } from './types.js';

/** Room ids: 1–64 of `A–Z a–z 0–9 _ -` (the server's session ids). */
export const ROOM_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Room types (game names): 1–64 of `A–Z a–z 0–9 . _ -`, starting alphanumeric. */
export const ROOM_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const LABEL_KEY_RE = /^[A-Za-z0-9_./-]{1,63}$/;

/** Whether `have` has every label of `want`. */
export function labelsMatch(have: Readonly<Record<string, string>>, want: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(want)) if (have[k] !== v) return false;
  return true;
}

/** A non-array, non-bytes object. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** At most 64 labels, keys 1–63 of `A–Z a–z 0–9 _ . / -`, string values up to 63 characters. */
export function isLabels(v: unknown): v is Record<string, string> {
  if (!isPlainObject(v)) return false;
  const e = Object.entries(v);
  return e.length <= 64 && e.every(([k, x]) => LABEL_KEY_RE.test(k) && typeof x === 'string' && x.length <= 63);
}

/** Bytes of the JSON form (`Infinity` when it cannot be serialised). */
export function jsonSize(v: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(v) ?? '');
  } catch {
    return Infinity;
  }
}

/** Validates a create request. @throws {OrchestratorError} `VALIDATION`. */
export function validateCreate(req: unknown): { type: string; options: Record<string, unknown>; placement?: Placement } {
  const bad = (m: string): never => {
    throw new OrchestratorError(FleetCause.VALIDATION, m);
  };
  if (!isPlainObject(req)) bad('body must be an object');
  const r = req as Record<string, unknown>;
  if (typeof r.type !== 'string' || !ROOM_TYPE_RE.test(r.type)) bad('type must be a room type (game name): 1–64 of A–Z a–z 0–9 . _ -');
  if (r.roomId !== undefined && (typeof r.roomId !== 'string' || !ROOM_ID_RE.test(r.roomId))) bad('roomId must be 1–64 of A–Z a–z 0–9 _ -');
  if (r.options !== undefined && !isPlainObject(r.options)) bad('options must be an object');
  if (r.options !== undefined && jsonSize(r.options) > 32 * 1024) bad('options over 32 KiB');
  const p = r.placement;
  if (p !== undefined) {
    if (!isPlainObject(p)) bad('placement must be an object');
    const q = p as Record<string, unknown>;
    for (const k of Object.keys(q)) if (!['policy', 'labels', 'processUid', 'instanceId', 'force'].includes(k)) bad(`unknown placement field ${k}`);
    if (q.policy !== undefined && !['least-loaded', 'most-loaded', 'random'].includes(q.policy as string)) bad('placement.policy must be least-loaded, most-loaded or random');
    if (q.labels !== undefined && !isLabels(q.labels)) bad('placement.labels must be an object of strings');
    if (q.processUid !== undefined && (typeof q.processUid !== 'string' || q.processUid.length === 0 || q.processUid.length > 128)) bad('placement.processUid must be a string');
    if (q.instanceId !== undefined && (typeof q.instanceId !== 'string' || q.instanceId.length === 0 || q.instanceId.length > 128)) bad('placement.instanceId must be a string');
    if (q.processUid !== undefined && q.instanceId !== undefined) bad('pin by processUid or by instanceId, not both');
    if (q.force !== undefined && typeof q.force !== 'boolean') bad('placement.force must be a boolean');
  }
  return { type: r.type as string, options: (r.options as Record<string, unknown>) ?? {}, placement: p as Placement | undefined };
}
