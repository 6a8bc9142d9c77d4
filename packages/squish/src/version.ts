/** Version of the client/server message protocol this build speaks (sent in `init` and `join`). */
export const PROTOCOL_VERSION = 1;
/** Current version of the squish node/frame encoding; games pin one in `metadata().squishVersion`. */
export const SQUISH_VERSION = 1;
/** Every squish version this build can encode and decode. */
export const SUPPORTED_SQUISH_VERSIONS: readonly number[] = [1];
