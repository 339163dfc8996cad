import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeartbeatSender } from './heartbeat-sender.js';

describe('HeartbeatSender', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends the first heartbeat at once, then at most one per interval with the latest details', async () => {
    const sent: Array<{ at: number; details: unknown }> = [];
    const start = Date.now();
    const sender = new HeartbeatSender(async (details) => {
      sent.push({ at: Date.now() - start, details });
    }, 1_000);
    sender.record(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([{ at: 0, details: 1 }]);
    for (let i = 2; i <= 10; i++) {
      sender.record(i);
      await vi.advanceTimersByTimeAsync(100);
    }
    // Heartbeats 2..10 arrived within the first second: only the last one goes out, at 1000 ms.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent).toEqual([
      { at: 0, details: 1 },
      { at: 1_000, details: 10 },
    ]);
  });

  it('drops a pending heartbeat when stopped', async () => {
    const sent: unknown[] = [];
    const sender = new HeartbeatSender(async (details) => {
      sent.push(details);
    }, 1_000);
    sender.record('a');
    await vi.advanceTimersByTimeAsync(0);
    sender.record('b');
    sender.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    await sender.drain();
    expect(sent).toEqual(['a']);
  });
});
