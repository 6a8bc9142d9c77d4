/**
 * Real catalog artifacts of the bench game (`muster.cjs`) at other versions, built as the catalog
 * stores them (a deterministic tar: parlor-artifact.json + index.cjs) and served over HTTP on
 * 127.0.0.1 behind a bearer key, so a game server fetches, verifies and loads them through
 * `CatalogVersions` + `ArtifactCache` exactly as a fleet host does before a patch.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from 'tar';
import type { ArtifactRef } from '@parlor/squish';

/** The bench game's file (loaded from source by the 100-room part). */
export const MUSTER_GAME = path.join(path.dirname(fileURLToPath(import.meta.url)), 'muster.cjs');

/** Builds the artifact tar of `muster@version` (its label showing the version). */
function buildMuster(version: string): Buffer {
  const code = readFileSync(MUSTER_GAME, 'utf8').replace("const LABEL = 'muster 1.0.0';", `const LABEL = 'muster ${version}';`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parlor-lifecycle-bench-art-'));
  try {
    writeFileSync(path.join(dir, 'parlor-artifact.json'), JSON.stringify({ name: 'muster', squishVersion: 1, entry: 'index.cjs', assets: [] }));
    writeFileSync(path.join(dir, 'index.cjs'), code);
    const file = `${dir}.tar`;
    create({ sync: true, file, cwd: dir, portable: true, noMtime: true }, ['index.cjs', 'parlor-artifact.json']);
    const bytes = readFileSync(file);
    rmSync(file, { force: true });
    return bytes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An HTTP server serving artifacts by sha256 (`GET /v1/artifacts/<sha256>`, bearer key). */
export class ArtifactServer {
  private readonly bytes = new Map<string, Buffer>();
  private server: Server | null = null;
  url = '';

  constructor(readonly key: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const sha = /^\/v1\/artifacts\/([0-9a-f]{64})$/.exec(req.url ?? '')?.[1];
      const body = sha ? this.bytes.get(sha) : undefined;
      if (req.headers.authorization !== `Bearer ${this.key}` || !body) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'rejected', cause: 'NOT_FOUND', message: 'no such artifact' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-tar', 'content-length': body.length }).end(body);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Builds and serves `muster@version`; returns its ref. */
  muster(version: string): ArtifactRef {
    const bytes = buildMuster(version);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    this.bytes.set(sha256, bytes);
    return { slug: 'muster', version, sha256, squishVersion: 1, url: `${this.url}/v1/artifacts/${sha256}`, access: { requiresAuth: false, minRole: null } };
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
  }
}
