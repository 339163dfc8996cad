import { describe, expect, it } from 'vitest';
import { linkedAbort } from './linked-abort.js';

describe('linkedAbort', () => {
  it('aborts with the reason of whichever source aborts first', () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkedAbort([a.signal, b.signal]);
    expect(linked.signal.aborted).toBe(false);
    b.abort(new Error('b went'));
    expect(linked.signal.aborted).toBe(true);
    expect((linked.signal.reason as Error).message).toBe('b went');
    a.abort(new Error('a went'));
    expect((linked.signal.reason as Error).message).toBe('b went');
  });

  it('is aborted at once when a source already is, and aborts the controller it is given', () => {
    const own = new AbortController();
    const linked = linkedAbort([AbortSignal.abort(new Error('already'))], own);
    expect(linked.signal).toBe(own.signal);
    expect((own.signal.reason as Error).message).toBe('already');
  });

  it('stops following its sources once disposed', () => {
    const source = new AbortController();
    const linked = linkedAbort([source.signal]);
    linked.dispose();
    source.abort();
    expect(linked.signal.aborted).toBe(false);
  });
});
