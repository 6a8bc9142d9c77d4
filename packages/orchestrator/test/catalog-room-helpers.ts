/** A FleetHost of the catalog-room tests: an in-memory host that runs catalog rooms. */
import type { ArtifactRef } from '@parlor/squish';
import { MemoryHost } from './helpers.js';

/**
 * A memory host that runs catalog rooms: it keeps the artifact each room was created with and
 * reports the room's version and sha256, as a server host does; it encodes the squish versions
 * it is given (default `[1]`).
 */
export class CatalogHost extends MemoryHost {
  readonly artifacts = new Map<string, ArtifactRef>();
  constructor(private readonly encodes?: number[]) {
    super();
  }
  squishVersions(): number[] {
    return this.encodes ?? [1];
  }
  override async createRoom(type: string, roomId: string, options: Record<string, unknown>, artifact?: ArtifactRef): Promise<void> {
    if (!artifact) return super.createRoom(type, roomId, options);
    if (this.rooms.has(roomId)) throw Object.assign(new Error('exists'), { code: 'ROOM_EXISTS' });
    this.artifacts.set(roomId, artifact);
    this.rooms.set(roomId, { roomId, type, clientCount: 0, metadata: {}, options, version: artifact.version, sha256: artifact.sha256 });
  }
}
