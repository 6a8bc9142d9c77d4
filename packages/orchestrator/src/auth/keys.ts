/**
 * Key rules, written once: which agent, admin and publisher keys the orchestrator accepts, how they are
 * stored (SHA-256 digests only), compared (constant time) and rotated. The constructor of the
 * orchestrator and `setKeys` both go through {@link AccessKeys}.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OrchestratorConfigError } from '../errors.js';

/** Shortest key accepted when `NODE_ENV=production`. */
const MIN_PRODUCTION_KEY_LENGTH = 16;

/** Short, non-reversible id of a key for logs: `fp:` + the first 8 hex chars of its SHA-256. */
export function keyFingerprint(key: string): string {
  return `fp:${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 8)}`;
}

/** A fresh random key (32 bytes, base64url). */
export function generateKey(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * A list of accepted keys (several at once for rotation). Keys are kept only as SHA-256 digests;
 * a candidate is compared with every digest in constant time (`crypto.timingSafeEqual`), with no
 * early exit, so timing tells nothing about which key (or how much of it) matched.
 */
export class KeyRing {
  private readonly digests: Array<{ digest: Buffer; fingerprint: string; name: string }>;

  /**
   * @param keys the accepted keys.
   * @param names each key's name (same index; a missing one is the key's fingerprint): what a
   *   publisher key publishes as.
   */
  constructor(keys: readonly string[], names: readonly (string | undefined)[] = []) {
    this.digests = keys.map((k, i) => ({ digest: sha256(k), fingerprint: keyFingerprint(k), name: names[i] ?? keyFingerprint(k) }));
  }

  /** Number of keys. */
  get size(): number {
    return this.digests.length;
  }

  /** Whether a key with this fingerprint is in the ring (sessions opened with a removed key are found this way). */
  hasFingerprint(fp: string): boolean {
    return this.digests.some((k) => k.fingerprint === fp);
  }

  /** The fingerprint of the matching key, or `null`. */
  match(candidate: string | undefined | null): string | null {
    return this.identify(candidate)?.fingerprint ?? null;
  }

  /** The fingerprint and name of the matching key, or `null` (same constant-time walk as {@link match}). */
  identify(candidate: string | undefined | null): { fingerprint: string; name: string } | null {
    const d = sha256(typeof candidate === 'string' ? candidate : '');
    let found: { fingerprint: string; name: string } | null = null;
    for (const k of this.digests) {
      if (timingSafeEqual(d, k.digest) && typeof candidate === 'string' && candidate.length > 0) found = { fingerprint: k.fingerprint, name: k.name };
    }
    return found;
  }
}

/** A publisher's name in a `name=key` entry. */
const PUBLISHER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/**
 * Publisher key entries (a key file's lines, `PARLOR_PUBLISHER_KEYS`' items): `name=key` names the
 * publisher (what its versions and publish requests record as `publisher`); a bare key publishes
 * as its fingerprint (`fp:xxxxxxxx`). A name is 1–64 of `A-Z a-z 0-9 . _ @ -`, starting with a
 * letter or digit; an entry whose text before the first `=` is not such a name is a bare key.
 */
export function parsePublisherKeys(entries: readonly string[]): { keys: string[]; names: Array<string | undefined> } {
  const keys: string[] = [];
  const names: Array<string | undefined> = [];
  for (const e of entries) {
    const i = e.indexOf('=');
    const name = i > 0 ? e.slice(0, i).trim() : '';
    const key = i > 0 && PUBLISHER_NAME_RE.test(name) && e.slice(i + 1).trim() !== '' ? e.slice(i + 1).trim() : null;
    keys.push(key ?? e);
    names.push(key === null ? undefined : name);
  }
  return { keys, names };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** A key option (one key or a list) as a trimmed, de-duplicated list; empty entries dropped. */
function keyList(name: string, v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  const list = (Array.isArray(v) ? v : [v]).map((k) => (typeof k === 'string' ? k.trim() : k)).filter((k) => k !== '');
  for (const k of list) if (typeof k !== 'string') throw new OrchestratorConfigError(`${name} must be strings`);
  return [...new Set(list)];
}

/**
 * The production key rules, for keys being set (`null`: that list is not being changed): no key
 * under 16 characters, and no key that is both an agent and an admin key.
 */
function assertProductionRules(agent: readonly string[] | null, admin: readonly string[] | null, publisher: readonly string[] | null = null): void {
  for (const k of [...(agent ?? []), ...(admin ?? []), ...(publisher ?? [])]) {
    if (k.length < MIN_PRODUCTION_KEY_LENGTH) throw new OrchestratorConfigError(`NODE_ENV=production refuses keys under ${MIN_PRODUCTION_KEY_LENGTH} characters (${keyFingerprint(k)})`);
  }
  if (agent && admin) {
    const admins = new Set(admin);
    const overlap = agent.find((k) => admins.has(k));
    if (overlap) throw new OrchestratorConfigError(`NODE_ENV=production refuses a key that is both an agent and an admin key (${keyFingerprint(overlap)})`);
  }
}

/** The accepted agent, admin and publisher keys, and the rules for setting them. */
export class AccessKeys {
  /** Keys generated in development (empty otherwise). */
  readonly generated: { agentKey?: string; adminKey?: string } = {};
  /** Fingerprints of the keys set at construction (for the start-up log line). */
  readonly fingerprints: { agent: string[]; admin: string[]; publisher: string[] };
  private agentRing: KeyRing;
  private adminRing: KeyRing;
  private publisherRing: KeyRing;

  /**
   * In production both lists are required and must follow the production rules; in development a
   * missing list gets one generated key (see {@link generated}). Publisher keys (entries `key` or
   * `name=key`, see {@link parsePublisherKeys}) are optional everywhere (an admin key can publish too).
   * @throws {OrchestratorConfigError} on a rule violation.
   */
  constructor(
    keys: { agentKey?: string | string[]; adminKey?: string | string[]; publisherKey?: string | string[] },
    private readonly production: boolean,
  ) {
    const agent = keyList('agentKey', keys.agentKey);
    const admin = keyList('adminKey', keys.adminKey);
    const publisher = parsePublisherKeys(keyList('publisherKey', keys.publisherKey));
    if (production) {
      if (agent.length === 0 || admin.length === 0) throw new OrchestratorConfigError('NODE_ENV=production requires agentKey and adminKey (no auto-generated keys)');
      assertProductionRules(agent, admin, publisher.keys);
    }
    assertDistinct(publisher.keys, [...agent, ...admin]);
    if (agent.length === 0) agent.push((this.generated.agentKey = generateKey()));
    if (admin.length === 0) admin.push((this.generated.adminKey = generateKey()));
    this.agentRing = new KeyRing(agent);
    this.adminRing = new KeyRing(admin);
    this.publisherRing = new KeyRing(publisher.keys, publisher.names);
    this.fingerprints = { agent: agent.map(keyFingerprint), admin: admin.map(keyFingerprint), publisher: publisher.keys.map(keyFingerprint) };
  }

  /** The accepted agent keys. */
  get agent(): KeyRing {
    return this.agentRing;
  }

  /** The accepted admin keys. */
  get admin(): KeyRing {
    return this.adminRing;
  }

  /** The accepted publisher keys (with their publishers' names). */
  get publisher(): KeyRing {
    return this.publisherRing;
  }

  /**
   * Replaces some lists (rotation). An agent or admin list given must not be empty (a publisher
   * list may: no publisher keys); production rules apply.
   * @returns the fingerprints of the lists set (for the log).
   * @throws {OrchestratorConfigError} on a rule violation (nothing changes then).
   */
  set(keys: { agentKey?: string | string[]; adminKey?: string | string[]; publisherKey?: string | string[] }): { agent?: string[]; admin?: string[]; publisher?: string[] } {
    const agent = keys.agentKey !== undefined ? keyList('agentKey', keys.agentKey) : null;
    const admin = keys.adminKey !== undefined ? keyList('adminKey', keys.adminKey) : null;
    const publisher = keys.publisherKey !== undefined ? parsePublisherKeys(keyList('publisherKey', keys.publisherKey)) : null;
    if ((agent && agent.length === 0) || (admin && admin.length === 0)) throw new OrchestratorConfigError('a key list cannot be empty');
    if (this.production) assertProductionRules(agent, admin, publisher?.keys ?? null);
    if (publisher) {
      assertDistinct(publisher.keys, [...(agent ?? []), ...(admin ?? [])]);
      const clash = publisher.keys.find((k) => (!agent && this.agentRing.match(k)) || (!admin && this.adminRing.match(k)));
      if (clash) throw new OrchestratorConfigError(`a publisher key cannot also be an agent or admin key (${keyFingerprint(clash)})`);
    }
    if (agent) this.agentRing = new KeyRing(agent);
    if (admin) this.adminRing = new KeyRing(admin);
    if (publisher) this.publisherRing = new KeyRing(publisher.keys, publisher.names);
    return { agent: agent?.map(keyFingerprint), admin: admin?.map(keyFingerprint), publisher: publisher?.keys.map(keyFingerprint) };
  }
}

/** A publisher key must not also be an agent or admin key (whatever the environment: it would grant more than publishing). */
function assertDistinct(publisher: readonly string[], others: readonly string[]): void {
  const set = new Set(others);
  const clash = publisher.find((k) => set.has(k));
  if (clash) throw new OrchestratorConfigError(`a publisher key cannot also be an agent or admin key (${keyFingerprint(clash)})`);
}

/**
 * The keys of a key file: one key per line; blank lines and lines starting with `#` are skipped;
 * surrounding spaces and a trailing `\r` are trimmed. Several lines = several accepted keys (a
 * rotation). `what` names the file's flag in the error (`--admin-key-file`).
 * @throws {OrchestratorConfigError} when the file cannot be read or holds no key.
 */
export function readKeyFile(path: string, what: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new OrchestratorConfigError(`${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable (permissions)' : (err as Error).message}`, { cause: err });
  }
  const keys = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (keys.length === 0) throw new OrchestratorConfigError(`${what} ${path}: no key in the file (one key per line; # starts a comment)`);
  return keys;
}
