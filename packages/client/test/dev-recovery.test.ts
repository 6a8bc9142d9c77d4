/**
 * When a dev page recovers by itself (DevRecovery), and how a stream event is read (parseDevState).
 */
import { describe, expect, it } from 'vitest';
import { DevRecovery, isHealthy, parseDevState, type DevDiagnostic, type DevState } from '@parlor/client';

const error: DevDiagnostic = { kind: 'build', severity: 'error', message: 'Unexpected "}"', file: '/g/dot.ts', line: 7, column: 3 };
const warning: DevDiagnostic = { kind: 'type', severity: 'warning', message: "Type 'string' is not assignable to type 'number'." };
const roomError: DevDiagnostic = { kind: 'room', severity: 'error', message: 'tick: boom' };
const state = (revision: number, ok: boolean, diagnostics: DevDiagnostic[] = [], server = 'a'): DevState => ({ game: 'dot', revision, ok, diagnostics, server });

describe('DevRecovery', () => {
  it('a healthy page never recovers; a newer healthy build after a failed one does, once', () => {
    const r = new DevRecovery();
    expect(r.onState(state(1, true))).toBe(false);
    expect(r.onState(state(2, true, [warning]))).toBe(false);
    expect(r.onState(state(3, false, [error]))).toBe(false);
    expect(r.waiting).toBe(true);
    expect(r.onState(state(3, false, [error]))).toBe(false); // the stream reconnected: same revision
    expect(r.onState(state(4, true, [warning]))).toBe(true); // warnings are fine
    expect(r.waiting).toBe(false);
    expect(r.onState(state(5, true))).toBe(false);
  });

  it('a room error (ok build, error diagnostic) is trouble until a build without it', () => {
    const r = new DevRecovery();
    r.onState(state(1, true));
    r.onStop(); // the room failed: 4500
    expect(r.onState(state(2, true, [roomError]))).toBe(false);
    expect(r.onState(state(3, true))).toBe(true);
  });

  it('after a stop, the same revision again is not a fix; a newer healthy one is', () => {
    const r = new DevRecovery();
    r.onState(state(4, true));
    r.onStop();
    expect(r.onState(state(4, true))).toBe(false);
    expect(r.onState(state(5, true))).toBe(true);
  });

  it('a stop before any state waits for a revision newer than the first one streamed', () => {
    const r = new DevRecovery();
    r.onStop();
    expect(r.onState(state(7, true))).toBe(false);
    expect(r.waiting).toBe(true);
    expect(r.onState(state(8, true))).toBe(true);
  });

  it('a pending page (no build yet) recovers on the first healthy state', () => {
    const r = new DevRecovery(true);
    expect(r.waiting).toBe(true);
    expect(r.onState(state(1, false, [error]))).toBe(false);
    expect(r.onState(state(2, true))).toBe(true);
  });

  it('a restarted server (new id) starts revisions over', () => {
    const r = new DevRecovery();
    r.onState(state(9, false, [error], 'a'));
    expect(r.onState(state(1, true, [], 'b'))).toBe(true);
  });
});

describe('parseDevState', () => {
  it('reads a state and drops fields of the wrong type', () => {
    const parsed = parseDevState({
      game: 'dot',
      revision: 3,
      ok: false,
      server: 'x',
      diagnostics: [{ ...error, codeFrame: '> 7 | }' }, { kind: 'weird', severity: 'loud', message: 'm', line: -1, column: 'a', file: 5 }, null, { kind: 'build' }],
    });
    expect(parsed).toEqual({
      game: 'dot',
      revision: 3,
      ok: false,
      server: 'x',
      diagnostics: [
        { ...error, codeFrame: '> 7 | }' },
        { kind: 'build', severity: 'error', message: 'm', file: undefined, line: undefined, column: undefined, codeFrame: undefined },
      ],
    });
    expect(isHealthy(parsed!)).toBe(false);
  });

  it('refuses what is not a state', () => {
    for (const v of [null, 'x', 1, [], { game: 'g', ok: true }, { game: 'g', ok: 'yes', revision: 1 }, { game: 'g', ok: true, revision: -1 }, { game: 1, ok: true, revision: 1 }]) {
      expect(parseDevState(v), JSON.stringify(v)).toBeNull();
    }
  });
});
