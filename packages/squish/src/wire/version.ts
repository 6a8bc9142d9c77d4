/**
 * Version of the client/server message protocol this build speaks (sent in `init` and `join`;
 * the server refuses another with 4426). 2: the client's `ack` message (type 18) is gone.
 */
export const PROTOCOL_VERSION = 2;
/** Current version of the squish node/frame encoding; games pin one in `metadata().squishVersion`. */
export const SQUISH_VERSION = 1;
/** Every squish version this build can encode and decode. */
export const SUPPORTED_SQUISH_VERSIONS: readonly number[] = [1];
