// Resolving a schedule's buffered starts against its overlap policies, as Temporal does
// (service/worker/scheduler/buffer.go): allow-all starts all go; of the others, at most one starts
// when nothing runs, and the rest are skipped, kept (buffer one / buffer all) or kept while the running
// workflow is cancelled or terminated.
import { api } from '@kairos/common';
import type { BufferedStart } from './schedule-record.js';

const Policy = api.enums.v1.ScheduleOverlapPolicy;

export interface BufferResolution {
  /** Allow-all starts: all of them now. */
  readonly overlappingStarts: BufferedStart[];
  /** The one other start to take now, if any. */
  readonly nonOverlappingStart: BufferedStart | null;
  readonly newBuffer: BufferedStart[];
  readonly needCancel: boolean;
  readonly needTerminate: boolean;
  readonly overlapSkipped: number;
}

/**
 * `running`: a workflow this schedule started (not an allow-all one) is still running. `resolve` maps a
 * start's policy (0 = unspecified) to the schedule's current one, late, so a policy update applies to
 * starts already buffered.
 */
export function processBuffer(buffer: readonly BufferedStart[], running: boolean, resolve: (policy: number) => number): BufferResolution {
  const overlappingStarts: BufferedStart[] = [];
  const newBuffer: BufferedStart[] = [];
  let nonOverlappingStart: BufferedStart | null = null;
  let needCancel = false;
  let needTerminate = false;
  let overlapSkipped = 0;
  for (const start of buffer) {
    const policy = resolve(start.overlapPolicy);
    if (policy === Policy.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL) {
      overlappingStarts.push(start);
      continue;
    }
    if (!running && nonOverlappingStart === null) {
      nonOverlappingStart = start;
      continue;
    }
    switch (policy) {
      case Policy.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
        if (newBuffer.length === 0) newBuffer.push(start);
        else overlapSkipped++;
        break;
      case Policy.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL:
        newBuffer.push(start);
        break;
      case Policy.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER:
      case Policy.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER:
        if (running) {
          // Started once the running one has closed.
          if (policy === Policy.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER) needCancel = true;
          else needTerminate = true;
          newBuffer.push(start);
        } else {
          // Nothing runs yet: this start replaces the one chosen before it.
          nonOverlappingStart = start;
        }
        break;
      default:
        // Skip (and anything unknown).
        overlapSkipped++;
    }
  }
  // A cancel or terminate would hit the allow-all starts too: they are not started.
  return { overlappingStarts: needCancel || needTerminate ? [] : overlappingStarts, nonOverlappingStart, newBuffer, needCancel, needTerminate, overlapSkipped };
}
