/**
 * `@parlor/server/gate` — the publish gate (`parlor validate` as a function): {@link validateGame}
 * scans a game's sources, checks its metadata and assets as the loader would, smoke-runs it in
 * the strongest runtime available, and returns a {@link GateReport} ({@link formatGateReport}
 * prints it). A filter, not the security boundary: see {@link GATE_DISCLAIMER}.
 */
export { validateGame, DEFAULT_SMOKE_MS, type ValidateOptions } from './gate/validate.js';
export { GATE_DISCLAIMER, formatGateReport, type GateFinding, type GateReport, type SmokeResult } from './gate/report.js';
export type { GateRuntimeChoice, GateRuntimeInfo } from './gate/runtime.js';
export { ALLOWED_BUILTINS } from './runner/builtins.js';
export {
  createPublishGate,
  buildArtifactFolder,
  toPublishReport,
  ARTIFACT_METADATA_FILE,
  type ArtifactMetadata,
  type PublishGateFunction,
  type PublishGateOutcome,
} from './gate/publish.js';
