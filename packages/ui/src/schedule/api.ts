// The schedule calls of Temporal's HTTP API (WorkflowService ListSchedules, DescribeSchedule,
// PatchSchedule, DeleteSchedule, ListScheduleMatchingTimes), through the same client as ../api.ts.
import { call, query } from '../api';
import type { DescribeScheduleResponse, ListSchedulesResponse, ScheduleListEntry, SchedulePatch } from './types';

const enc = encodeURIComponent;
const IDENTITY = 'kairos-ui';
const base = (ns: string, id: string) => `/namespaces/${enc(ns)}/schedules/${enc(id)}`;

export const scheduleApi = {
  list: (ns: string, pageSize: number, nextPageToken?: string, signal?: AbortSignal) =>
    call<ListSchedulesResponse>('GET', `/namespaces/${enc(ns)}/schedules${query({ maximumPageSize: pageSize, nextPageToken })}`, undefined, signal),

  describe: (ns: string, id: string, signal?: AbortSignal) => call<DescribeScheduleResponse>('GET', base(ns, id), undefined, signal),

  patch: (ns: string, id: string, patch: SchedulePatch) =>
    call<object>('POST', `${base(ns, id)}/patch`, { patch, identity: IDENTITY, requestId: crypto.randomUUID() }),

  delete: (ns: string, id: string) => call<object>('DELETE', `${base(ns, id)}${query({ identity: IDENTITY })}`),

  matchingTimes: (ns: string, id: string, startTime: string, endTime: string, signal?: AbortSignal) =>
    call<{ startTime?: string[] }>('GET', `${base(ns, id)}/matching-times${query({ startTime, endTime })}`, undefined, signal),
};

/** Schedules are few next to workflows: the list reads them all (up to `limit`) and filters in the
 * browser, so the search box can match anywhere in an id without a visibility query. */
export async function listAllSchedules(ns: string, limit: number, signal: AbortSignal): Promise<{ schedules: ScheduleListEntry[]; truncated: boolean }> {
  const schedules: ScheduleListEntry[] = [];
  let token: string | undefined;
  do {
    const page = await scheduleApi.list(ns, 200, token, signal);
    for (const s of page.schedules ?? []) schedules.push(s);
    token = page.nextPageToken || undefined;
  } while (token !== undefined && schedules.length < limit && !signal.aborted);
  return { schedules, truncated: token !== undefined };
}
