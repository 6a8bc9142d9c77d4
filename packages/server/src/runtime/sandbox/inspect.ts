import type { ResolvedGameMetadata } from '@parlor/squish';
import { formatLocation, mapStack } from '../../dev/locate.js';
import { ENGINE_MESSAGE_LIMITS } from '../../engine/messages.js';
import { RuntimeError, ServerErrorCode } from '../../errors.js';
import type { RunnerBootMessage } from '../../runner/protocol.js';
import { ChannelDecoder, ChannelError, encodeChannelMessage } from '../channel.js';
import { isNum, isPlainObject, str } from './messages.js';
import type { SandboxChild } from './supervisor.js';

/** Longest game class name taken from a sandbox (characters). */
const MAX_CLASS_NAME = 200;

/**
 * Evaluates a game bundle in a sandbox (`inspect` mode of the runner) and returns its resolved
 * metadata. Shared by the process and docker runtimes. What the sandbox answers is type-checked
 * (the metadata must be an object; the loader validates its fields), never stringified blindly.
 * @throws {RuntimeError} `SERVER_RUNTIME_START_FAILED` with the game's error or a timeout.
 */
export function inspectInSandbox(
  child: SandboxChild,
  bundle: { code: string; filename: string },
  cfg: { startTimeoutMs: number; maxMessageBytes: number; runtime: string },
): Promise<{ metadata: ResolvedGameMetadata; className: string }> {
  return new Promise((resolvePromise, reject) => {
    const decoder = new ChannelDecoder(cfg.maxMessageBytes);
    let stderr = '';
    let done = false;
    const finish = (err: Error | null, value?: { metadata: ResolvedGameMetadata; className: string }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        child.kill();
      } catch {
        // gone
      }
      if (err) reject(err);
      else resolvePromise(value!);
    };
    const failed = (message: string) => finish(new RuntimeError(ServerErrorCode.RUNTIME_START_FAILED, cfg.runtime, `${bundle.filename}: ${message}`));
    const timer = setTimeout(() => failed(`the game did not load within ${cfg.startTimeoutMs} ms`), cfg.startTimeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (done) return;
      try {
        for (const m of decoder.push(chunk)) {
          if (!isPlainObject(m)) {
            failed('protocol violation: a channel message that is not an object');
            return;
          }
          if (m.type === 'hb') continue;
          if (m.type === 'inspected') {
            if (!isPlainObject(m.metadata)) {
              failed('protocol violation: metadata that is not an object');
              return;
            }
            const className = str(m.className, MAX_CLASS_NAME, '') ?? '';
            finish(null, { metadata: m.metadata as unknown as ResolvedGameMetadata, className });
            return;
          }
          if (m.type === 'error') {
            const message = str(m.message, ENGINE_MESSAGE_LIMITS.messageChars, '');
            // The sandbox's stack points into the bundle: the host maps it to the author's line.
            const { at } = mapStack(str(m.stack, ENGINE_MESSAGE_LIMITS.stackChars, '') ?? '', bundle);
            failed(`${message === null ? 'the game failed to load (its error message is not a string)' : message}${at ? ` (at ${formatLocation(at)})` : ''}`);
            return;
          }
        }
      } catch (err) {
        failed(err instanceof ChannelError && err.reason === 'too_large' ? err.message : 'protocol violation: the game\u2019s channel does not decode');
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 8192) stderr += s;
    });
    child.once('close', (code, signal) => {
      const tail = stderr
        .split('\n')
        .filter((l) => l.trim() && !/ExperimentalWarning|--trace-warnings/.test(l))
        .slice(-3)
        .join(' | ')
        .slice(0, 1000);
      failed(`the game process exited while loading (${signal ?? `code ${isNum(code) ? code : 'unknown'}`})${tail ? `: ${tail}` : ''}`);
    });
    const boot: RunnerBootMessage = {
      type: 'boot',
      mode: 'inspect',
      code: bundle.code,
      filename: bundle.filename,
      options: {},
      maxConsecutiveErrors: 1,
      heartbeatMs: 1000,
    };
    child.stdin.write(encodeChannelMessage(boot));
  });
}
