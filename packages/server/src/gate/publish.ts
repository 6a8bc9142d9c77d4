/**
 * The publish gate as a catalog calls it ({@link createPublishGate}): {@link validateGame} on an
 * unpacked upload, its report in squish's {@link PublishReport} shape, and — when it passes — the
 * artifact folder: the bundle exactly as the loader builds it (`bundleGame`) written as
 * `index.cjs`, the assets the metadata lists at their relative paths, and `parlor-artifact.json`.
 * The server does not depend on the orchestrator: the gate's shape is declared here structurally
 * and matches the catalog's `PublishGate`.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { PublishReport } from '@parlor/squish';
import { bundleGame } from '../games/bundle.js';
import { formatGateReport, type GateReport } from './report.js';
import { validateGame, type ValidateOptions } from './validate.js';

/**
 * The artifact's metadata file (`parlor-artifact.json`) as the gate writes it: what a host needs to
 * load the artifact. It names no slug or version: an artifact is its content, so the same files
 * published as several versions (or promoted to several environments) are one artifact, stored
 * once; the catalog's version records and the host's `ArtifactRef` say which version it is.
 */
export interface ArtifactMetadata {
  /** The game's display name (its `metadata().name`). */
  name: string;
  /** The squish codec version the game needs. */
  squishVersion: number;
  /** The bundle's path in the artifact: always `index.cjs`. */
  entry: 'index.cjs';
  /** The asset files' relative paths (`/`-separated), sorted. */
  assets: string[];
}

/** What {@link createPublishGate}'s gate returns: the report, and when it passed the built artifact folder. */
export interface PublishGateOutcome {
  report: PublishReport;
  /** The artifact folder (made next to the upload folder; the caller removes it), the game's squish version and display name. */
  built?: { dir: string; squishVersion: number; name: string };
}

/** The gate a catalog calls on an unpacked upload folder. */
export type PublishGateFunction = (uploadDir: string, signal: AbortSignal) => Promise<PublishGateOutcome>;

/** The artifact's metadata file name. */
export const ARTIFACT_METADATA_FILE = 'parlor-artifact.json';

/** A location `file:line:col`, with the file relative to the game folder when inside it. */
function locate(root: string, file: string, line: number, column: number): string {
  const rel = relative(root, file);
  const shown = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : file;
  return `${shown}:${line}:${column}`;
}

/** The gate's report as squish's {@link PublishReport} (findings with `at: file:line:col`, the printed report with paths relative to the game folder). */
export function toPublishReport(report: GateReport): PublishReport {
  const root = report.dir;
  return {
    passed: report.ok,
    findings: report.findings.map((f) => ({ severity: f.severity, rule: f.rule, message: f.message, at: locate(root, f.file, f.line, f.column) })),
    runtime: report.runtime ? report.runtime.name + (report.runtime.unsafe ? ' (unsafe)' : '') : 'none',
    text: formatGateReport(report, root).split(root + sep).join('').split(root).join('.'),
  };
}

/**
 * Builds the artifact folder of a game that passed the gate, in a new folder next to the upload
 * folder: `index.cjs` (`bundleGame`'s CommonJS bundle, inline source map, `@parlor/squish`
 * external), the metadata's assets at their relative paths, and `parlor-artifact.json`
 * ({@link ArtifactMetadata}). Nothing in it names the upload folder, so the same files give the same artifact.
 * @throws Error (`GameLoadError` from the bundler) when the game cannot be built or an asset is outside the folder.
 */
export async function buildArtifactFolder(report: GateReport): Promise<{ dir: string; metadata: ArtifactMetadata }> {
  if (!report.ok || !report.entry || !report.metadata) throw new Error('buildArtifactFolder: the gate did not pass');
  const root = report.dir;
  const { code } = await bundleGame(report.entry, root);
  const dir = mkdtempSync(join(dirname(root), `${basename(root)}-built-`));
  try {
    writeFileSync(join(dir, 'index.cjs'), code);
    const assets = [...new Set(Object.values(report.metadata.assets).map((a) => a.path.replace(/^\.\//, '')))].sort();
    for (const path of assets) {
      const from = resolve(root, path);
      const rel = relative(root, from);
      if (!rel || rel.startsWith('..') || isAbsolute(rel)) throw new Error(`asset ${path} is outside the game folder`);
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      copyFileSync(from, join(dir, rel));
    }
    const metadata: ArtifactMetadata = { name: report.metadata.name, squishVersion: report.metadata.squishVersion, entry: 'index.cjs', assets };
    writeFileSync(join(dir, ARTIFACT_METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`);
    return { dir, metadata };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The publish gate for a catalog (`createCatalog({ gate: createPublishGate() })`): runs
 * {@link validateGame} with `options` on the upload folder (the strongest runtime available, as
 * `parlor validate` does), maps its report ({@link toPublishReport}), and when it passed builds the
 * artifact folder ({@link buildArtifactFolder}). A game that cannot be built after passing is a
 * failed report (rule `build`), not a throw. The `signal` is checked between steps (the gate's
 * run itself is bounded by its own timeouts).
 * @param options {@link ValidateOptions} (e.g. `smokeMs`, `runtime`); default as `parlor validate`.
 */
export function createPublishGate(options: ValidateOptions = {}): PublishGateFunction {
  return async (uploadDir, signal) => {
    signal.throwIfAborted();
    const report = await validateGame(uploadDir, options);
    signal.throwIfAborted();
    const out = toPublishReport(report);
    if (!report.ok) return { report: out };
    try {
      const { dir, metadata } = await buildArtifactFolder(report);
      if (signal.aborted) {
        rmSync(dir, { recursive: true, force: true });
        signal.throwIfAborted();
      }
      return { report: out, built: { dir, squishVersion: metadata.squishVersion, name: metadata.name } };
    } catch (err) {
      if (signal.aborted) throw err;
      const message = (err as Error)?.message ?? 'unknown error';
      const finding = { severity: 'error' as const, rule: 'build', message: `the artifact could not be built: ${message.slice(0, 500)}`, at: locate(report.dir, report.entry ?? report.dir, 1, 1) };
      return { report: { ...out, passed: false, findings: [...out.findings, finding], text: `${out.text}\n${finding.at}: error [build] ${finding.message}\n` } };
    }
  };
}
