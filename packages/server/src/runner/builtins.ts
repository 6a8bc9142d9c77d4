/**
 * Node built-in modules a game may import: pure computation, no I/O. The process runner hands
 * these out to the game's `require`; every other built-in is rejected by the publish gate and is
 * unavailable in the sandbox.
 */
export const ALLOWED_BUILTINS: readonly string[] = ['assert', 'buffer', 'events', 'path', 'querystring', 'string_decoder', 'url', 'util'];
