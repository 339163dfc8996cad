// temporal.api.testservice.v1.TestService: the time-skipping API that Temporal's test environments
// call (@temporalio/testing's time-skipping environment, and @kairos/testing). Served only by a server
// started with `timeSkipping`; all of it is the clock's (testing/skipping-clock.ts).
import type { temporal } from '@temporalio/proto';
import { durationToMs, msToTimestamp, timestampToMs, type Loose } from '@kairos/common';
import { InvalidArgumentError } from '../errors.js';
import type { TimeSkippingClock } from '../testing/skipping-clock.js';
import type { ServiceHandlers } from './grpc-server.js';

type SleepRequest = Loose<temporal.api.testservice.v1.ISleepRequest>;
type SleepUntilRequest = Loose<temporal.api.testservice.v1.ISleepUntilRequest>;

export function testServiceHandlers(clock: TimeSkippingClock): ServiceHandlers {
  return {
    async LockTimeSkipping() {
      clock.lock();
      return {};
    },
    async UnlockTimeSkipping() {
      clock.unlock();
      return {};
    },
    /** Waits (without unlocking) until time has advanced by the duration. */
    async Sleep(request, call) {
      await clock.sleepUntil(clock.now() + sleepDurationMs(request as SleepRequest), call.signal);
      return {};
    },
    async SleepUntil(request, call) {
      const atMs = timestampToMs((request as SleepUntilRequest).timestamp);
      if (atMs === undefined) throw new InvalidArgumentError('SleepUntilRequest.timestamp is not set.');
      await clock.sleepUntil(atMs, call.signal);
      return {};
    },
    /** Unlocks, waits until time has advanced by the duration, locks again: what `env.sleep` calls. */
    async UnlockTimeSkippingWithSleep(request, call) {
      await clock.unlockWithSleep(sleepDurationMs(request as SleepRequest), call.signal);
      return {};
    },
    async GetCurrentTime() {
      return { time: msToTimestamp(clock.now()) } satisfies Loose<temporal.api.testservice.v1.IGetCurrentTimeResponse>;
    },
  };
}

function sleepDurationMs(request: SleepRequest): number {
  const ms = durationToMs(request.duration);
  if (ms < 0) throw new InvalidArgumentError(`SleepRequest.duration must not be negative, not ${ms} ms.`);
  return ms;
}
