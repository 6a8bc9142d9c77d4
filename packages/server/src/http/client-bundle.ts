import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** File name of the browser bundle inside `@parlor/client`'s folder. */
export const CLIENT_BUNDLE_FILE = 'dist/parlor-client.global.js';

/**
 * Finds the `@parlor/client` package folder from this module (its `package.json` need not be
 * exported: every `node_modules` folder on the resolution path is searched). `null` if absent.
 */
export function findClientPackageDir(): string | null {
  const req = createRequire(import.meta.url);
  try {
    return dirname(req.resolve('@parlor/client/package.json'));
  } catch {
    // package.json not in the package's "exports": search node_modules folders ourselves
  }
  for (const base of req.resolve.paths('@parlor/client') ?? []) {
    const pkg = join(base, '@parlor', 'client', 'package.json');
    if (existsSync(pkg)) return dirname(pkg);
  }
  return null;
}

/** Serves the client bundle from disk, re-reading it when its mtime changes (so rebuilds show up). */
export class ClientBundle {
  private cache: { mtimeMs: number; data: Buffer } | null = null;
  /** Absolute path of the bundle (may not exist yet). */
  readonly path: string | null;

  /** @param path bundle path; default `@parlor/client`'s `dist/parlor-client.global.js` */
  constructor(path?: string) {
    if (path) this.path = path;
    else {
      const dir = findClientPackageDir();
      this.path = dir ? join(dir, CLIENT_BUNDLE_FILE) : null;
    }
  }

  /** The bundle's bytes, or `null` when it has not been built. */
  read(): Buffer | null {
    if (!this.path) return null;
    try {
      const st = statSync(this.path);
      if (this.cache && this.cache.mtimeMs === st.mtimeMs) return this.cache.data;
      const data = readFileSync(this.path);
      this.cache = { mtimeMs: st.mtimeMs, data };
      return data;
    } catch {
      return null;
    }
  }
}
