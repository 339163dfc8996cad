// The schedules of a namespace: id, paused or running, workflow type, the spec in words, the next run
// and the last one (a link to its workflow). All schedules are read (they are few next to workflows)
// and the search box filters them in the browser; the text lives in the URL, like the workflow filters.
import { useCallback, useMemo, useState } from 'react';
import { usePolling } from '../polling';
import { ErrorBox, RefreshControls } from '../components/common';
import { Link, schedulePath, setSearch } from '../router';
import { listAllSchedules } from '../schedule/api';
import { ActionRun, newestFirst, ScheduleStatus, When } from '../schedule/parts';
import { describeSpec } from '../schedule/spec';
import type { ScheduleListEntry } from '../schedule/types';

/** Beyond this many schedules the list says it shows the first ones only. */
const LIMIT = 2000;

export function ScheduleList({ ns, search }: { ns: string; search: URLSearchParams }) {
  const filter = search.get('id') ?? '';
  const [loaded, setLoaded] = useState<{ schedules: ScheduleListEntry[]; truncated: boolean }>();
  const [error, setError] = useState<unknown>();
  const [autoRefresh, setAutoRefresh] = useState(true);
  const [tick, setTick] = useState(0);

  const load = useCallback(
    async (signal: AbortSignal) => {
      try {
        const result = await listAllSchedules(ns, LIMIT, signal);
        if (signal.aborted) return;
        setLoaded(result);
        setError(undefined);
      } catch (err) {
        if (!signal.aborted) setError(err);
      }
    },
    [ns, tick], // tick: the Refresh button
  );

  usePolling(load, autoRefresh);

  const rows = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return (loaded?.schedules ?? []).filter((s) => (s.scheduleId ?? '').toLowerCase().includes(needle)).sort((a, b) => (a.scheduleId ?? '').localeCompare(b.scheduleId ?? ''));
  }, [loaded, filter]);
  const now = Date.now();

  return (
    <div className="page">
      <div className="page-head">
        <h2>Schedules</h2>
        <div className="head-actions">
          <RefreshControls autoRefresh={autoRefresh} setAutoRefresh={setAutoRefresh} refresh={() => setTick((t) => t + 1)} />
        </div>
      </div>
      <div className="filter-bar">
        <input type="search" aria-label="Schedule ID" placeholder="Schedule ID contains…" value={filter} onChange={(e) => setSearch({ id: e.target.value })} />
        {loaded ? (
          <span className="muted" style={{ alignSelf: 'center' }}>
            {filter.trim() === '' ? `${loaded.schedules.length} schedules` : `${rows.length} of ${loaded.schedules.length} schedules`}
            {loaded.truncated ? ` (the first ${LIMIT} only)` : ''}
          </span>
        ) : null}
      </div>
      <ErrorBox error={error} />
      <div className="table-wrap">
        <table className="table schedules">
          <thead>
            <tr>
              <th>Schedule ID</th>
              <th>Status</th>
              <th>Workflow type</th>
              <th>Schedule</th>
              <th>Next run</th>
              <th>Last run</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <ScheduleRow key={s.scheduleId} ns={ns} entry={s} now={now} />
            ))}
          </tbody>
        </table>
        {loaded && rows.length === 0 ? (
          <div className="empty">
            {loaded.schedules.length === 0 ? (
              <>
                No schedules in this namespace yet: create one with an SDK&apos;s schedule client or <code>kairos schedule create</code>.
              </>
            ) : (
              <>
                No schedule ID contains <code>{filter}</code>.
              </>
            )}
          </div>
        ) : null}
        {loaded === undefined && error === undefined ? <div className="empty">Loading…</div> : null}
      </div>
    </div>
  );
}

function ScheduleRow({ ns, entry, now }: { ns: string; entry: ScheduleListEntry; now: number }) {
  const id = entry.scheduleId ?? '';
  const info = entry.info ?? {};
  const last = newestFirst(info.recentActions)[0];
  const zone = info.spec?.timezoneName;
  return (
    <tr data-schedule-id={id}>
      <td>
        <Link to={schedulePath(ns, id)} className="mono">
          {id}
        </Link>
      </td>
      <td>
        <ScheduleStatus paused={info.paused} />
      </td>
      <td>{info.workflowType?.name}</td>
      <td className="schedule-spec">
        {describeSpec(info.spec)}
        {zone ? <span className="muted"> ({zone})</span> : null}
      </td>
      <td>{info.paused ? <span className="muted">paused</span> : <When time={info.futureActionTimes?.[0]} now={now} />}</td>
      <td>
        {last ? (
          <>
            <ActionRun ns={ns} action={last} />
            <div>
              <When time={last.actualTime ?? last.scheduleTime} now={now} />
            </div>
          </>
        ) : (
          <span className="muted">none yet</span>
        )}
      </td>
    </tr>
  );
}
