/**
 * A test bed for catalog artifacts: builds real artifact tars (deterministic, as the catalog
 * stores them: parlor-artifact.json, index.cjs, assets) and serves them, and a manifest, from a
 * real HTTP server on 127.0.0.1 that checks the bearer key and counts requests.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from 'tar';
import type { ArtifactRef, GameAccess, Manifest } from '@parlor/squish';

/** The CommonJS bundle of a small game showing `label` (and a tick counter); `topLevel` runs when the module is evaluated. */
export function gameBundle(title: string, label: string, topLevel = ''): string {
  return `'use strict';
const { Colors, Game, Group, Text } = require('@parlor/squish');
${topLevel}
class Versioned extends Game {
  static metadata() { return { name: ${JSON.stringify(title)}, tickRate: 30, maxPlayers: 4 }; }
  constructor() {
    super();
    this.ticks = 0;
    this.label = new Text({ text: ${JSON.stringify(label)}, x: 5, y: 5, size: 4, color: Colors.WHITE });
    this.counter = new Text({ text: 'tick 0', x: 5, y: 15, size: 4, color: Colors.WHITE });
    this.root = new Group({ children: [this.label, this.counter] });
  }
  getLayers() { return [this.root]; }
  tick() { this.ticks++; this.counter.text = 'tick ' + this.ticks; }
}
exports.default = Versioned;
`;
}

/** A built artifact: its bytes and sha256. */
export interface BuiltArtifact {
  slug: string;
  version: string;
  bytes: Buffer;
  sha256: string;
}

/** Builds an artifact tar of `slug@version` whose bundle is `code`; `extra` adds or overrides entries (path → content), `links` adds symbolic links (path → target). */
export function buildArtifact(slug: string, version: string, code: string, extra: Record<string, string> = {}, links: Record<string, string> = {}): BuiltArtifact {
  const dir = mkdtempSync(join(tmpdir(), 'parlor-artifact-src-'));
  try {
    const files: Record<string, string> = {
      'parlor-artifact.json': JSON.stringify({ name: slug, squishVersion: 1, entry: 'index.cjs', assets: [] }),
      'index.cjs': code,
      ...extra,
    };
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    for (const [path, target] of Object.entries(links)) symlinkSync(target, join(dir, path));
    const file = join(dir, '..', `${dir.split('/').pop()}.tar`);
    create({ sync: true, file, cwd: dir, portable: true, noMtime: true }, [...Object.keys(files), ...Object.keys(links)].sort());
    const bytes = readFileSync(file);
    rmSync(file, { force: true });
    return { slug, version, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A real HTTP catalog stand-in: `GET /v1/artifacts/<sha>`, `GET /v1/manifests/<env>`, and the games
 * and versions it serves (`GET /v1/games/<slug>`, `GET /v1/games/<slug>/versions/<version>`), behind a bearer key.
 */
export class ArtifactHost {
  /** Bytes served per sha256 (a test may serve other bytes than the sha names: a tampered catalog). */
  readonly artifacts = new Map<string, Buffer>();
  /** Manifests per env. */
  readonly manifests = new Map<string, Manifest>();
  /** Versions served, by `slug@version` (every {@link add}ed artifact). */
  readonly versions = new Map<string, BuiltArtifact>();
  /** A game's access as `GET /v1/games/<slug>` answers it (default: open to anyone). */
  readonly access = new Map<string, GameAccess>();
  /** Requests per path. */
  readonly hits = new Map<string, number>();
  /** Requests refused for a wrong key. */
  refused = 0;
  private server: Server | null = null;
  url = '';

  constructor(readonly key: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = req.url ?? '';
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      if (req.headers.authorization !== `Bearer ${this.key}`) {
        this.refused++;
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'rejected', cause: 'UNAUTHORIZED', message: 'bad key' }));
        return;
      }
      const art = /^\/v1\/artifacts\/([0-9a-f]{64})$/.exec(path);
      if (art && this.artifacts.has(art[1]!)) {
        const bytes = this.artifacts.get(art[1]!)!;
        res.writeHead(200, { 'content-type': 'application/x-tar', 'content-length': bytes.length, etag: `"${art[1]}"` }).end(bytes);
        return;
      }
      const game = /^\/v1\/games\/([a-z0-9-]+)(?:\/versions\/([^/]+))?$/.exec(path);
      const games = game ? [...this.versions.values()].filter((v) => v.slug === game[1]) : [];
      if (game && games.length > 0) {
        const v = game[2] === undefined ? null : this.versions.get(`${game[1]}@${decodeURIComponent(game[2])}`);
        if (game[2] === undefined || v) {
          const now = Date.now();
          const data = v
            ? { slug: v.slug, version: v.version, sha256: v.sha256, size: v.bytes.length, squishVersion: 1, publishedAt: now, publishedBy: 'test', gate: { passed: true, findings: [] } }
            : { slug: game[1], name: game[1], description: '', tags: [], show: true, access: this.access.get(game[1]!) ?? { requiresAuth: false, minRole: null }, createdAt: now, updatedAt: now };
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'OK', data }));
          return;
        }
      }
      const man = /^\/v1\/manifests\/([a-z][a-z0-9-]*)$/.exec(path);
      if (man) {
        const m = this.manifests.get(man[1]!) ?? { env: man[1]!, generatedAt: Date.now(), games: [] };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'OK', data: m }));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'rejected', cause: 'NOT_FOUND', message: 'no such thing' }));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Serves `a` at its own sha256 and returns its ref. */
  add(a: BuiltArtifact): ArtifactRef {
    this.artifacts.set(a.sha256, a.bytes);
    this.versions.set(`${a.slug}@${a.version}`, a);
    return this.ref(a);
  }

  /** The ref of `a` on this host. */
  ref(a: BuiltArtifact): ArtifactRef {
    return { slug: a.slug, version: a.version, sha256: a.sha256, squishVersion: 1, url: `${this.url}/v1/artifacts/${a.sha256}`, access: { requiresAuth: false, minRole: null } };
  }

  /** Pins `artifacts` in the manifest of `env`. */
  pin(env: string, artifacts: BuiltArtifact[]): void {
    this.manifests.set(env, {
      env,
      generatedAt: Date.now(),
      games: artifacts.map((a) => ({
        slug: a.slug,
        name: a.slug,
        src: `/v1/game-files/${a.slug}/${a.version}/`,
        url_path: `/play/${a.slug}`,
        version: a.version,
        sha256: a.sha256,
        squish_version: 1,
        access_control: { requires_auth: false, min_role: null },
        tags: [],
        show: true,
      })),
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
  }
}
