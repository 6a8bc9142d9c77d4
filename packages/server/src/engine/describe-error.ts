import { ENGINE_MESSAGE_LIMITS } from './messages.js';

/**
 * The message and stack of anything a game threw, as bounded strings, without trusting it: a
 * thrown value's `message`/`stack` may be getters that throw, objects without a callable
 * `toString`, or megabytes long. Never throws.
 */
export function describeError(err: unknown): { message: string; stack: string } {
  const L = ENGINE_MESSAGE_LIMITS;
  let message = '';
  let stack = '';
  try {
    if (typeof err === 'string') message = err;
    else if (typeof err === 'object' && err !== null) {
      const m = (err as { message?: unknown }).message;
      const st = (err as { stack?: unknown }).stack;
      message = typeof m === 'string' ? m : m === undefined ? '' : `(a ${typeof m} as error message)`;
      stack = typeof st === 'string' ? st : '';
    } else if (typeof err === 'number' || typeof err === 'boolean' || typeof err === 'bigint' || err === undefined || err === null) {
      message = `${err}`;
    } else message = `(a thrown ${typeof err})`;
  } catch {
    message = '(an error whose message could not be read)';
  }
  if (message.length > L.messageChars) message = message.slice(0, L.messageChars - 1) + '\u2026';
  if (stack.length > L.stackChars) stack = stack.slice(0, L.stackChars);
  return { message: message || 'unknown error', stack };
}
