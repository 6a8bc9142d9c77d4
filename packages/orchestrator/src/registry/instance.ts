/** One instance (an agent's process) as the read model holds it. */
import type { HelloFrame, RoomSnapshot } from '@parlor/fleet-agent';

/** What the read model needs to know of an instance's live connection. */
export interface InstanceLink {
  /** The connection is gone (the record leaves the read model in the same turn). */
  readonly closed: boolean;
  /** Commands sent to it and not yet acked. */
  readonly inflightCount: number;
}

/**
 * The read-model state of one instance. Its fields change only through the {@link Registry}
 * (snapshots, drain, stale, rooms), except `pendingCreates`, which the control plane counts
 * while a create is in flight to it (placement counts those rooms as taken).
 */
export class InstanceRecord<L extends InstanceLink = InstanceLink> {
  draining = false;
  stale = false;
  /** Its last full snapshot was refused (the last good state is kept); no placements until one is accepted. */
  snapshotRefused = false;
  roomTypes: string[] = [];
  readonly rooms = new Map<string, RoomSnapshot>();
  clientCount = 0;
  /** Creates in flight to this instance. */
  pendingCreates = 0;
  /** Full snapshots applied since it joined (0: its first poll is not answered yet). */
  snapshots = 0;
  /** When it was welcomed, ms since the epoch. */
  readonly connectedAt = Date.now();

  constructor(
    /** Orchestrator-assigned id, kept per processUid. */
    readonly id: string,
    /** The (normalised) hello it joined with. */
    readonly hello: HelloFrame,
    /** Its connection. */
    readonly link: L,
  ) {}
}
