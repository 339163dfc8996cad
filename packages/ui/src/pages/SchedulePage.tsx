// One schedule: its spec in words and as stored, policies and state, the workflow it starts, its next
// times, recent runs and running workflows, and the actions (pause, trigger, backfill, delete). The
// page describes the schedule again every 5 s, so runs appear as the schedule takes them.
import { useCallback, useEffect, useState } from 'react';
import { ErrorBox } from '../components/common';
import { Link, enc } from '../router';
import { ScheduleActions } from '../schedule/Actions';
import { scheduleApi } from '../schedule/api';
import { ScheduleStatus } from '../schedule/parts';
import { RecentRuns, RunningWorkflows, UpcomingRuns, useRunStatuses } from '../schedule/Runs';
import { SpecView } from '../schedule/SpecView';
import { ScheduleAction, ScheduleSummary } from '../schedule/Summary';
import type { DescribeScheduleResponse } from '../schedule/types';

const REFRESH_MS = 5000;

export function SchedulePage({ ns, scheduleId }: { ns: string; scheduleId: string }) {
  const [described, setDescribed] = useState<DescribeScheduleResponse>();
  const [error, setError] = useState<unknown>();
  const [version, setVersion] = useState(0);
  const [loads, setLoads] = useState(0);
  const reload = useCallback(() => setVersion((v) => v + 1), []);

  useEffect(() => {
    const controller = new AbortController();
    const load = () =>
      scheduleApi.describe(ns, scheduleId, controller.signal).then(
        (d) => {
          if (controller.signal.aborted) return;
          setDescribed(d);
          setError(undefined);
          setLoads((n) => n + 1);
        },
        (err: unknown) => {
          if (!controller.signal.aborted) setError(err);
        },
      );
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => {
      clearInterval(timer);
      controller.abort();
    };
  }, [ns, scheduleId, version]);

  const info = described?.info;
  const state = described?.schedule?.state;
  const paused = state?.paused === true;
  const recent = info?.recentActions ?? [];
  const statuses = useRunStatuses(ns, recent, loads);

  return (
    <div className="page schedule-page">
      <div className="breadcrumbs">
        <Link to={`/namespaces/${enc(ns)}/schedules`}>Schedules</Link> / <span className="mono">{scheduleId}</span>
      </div>
      <div className="page-head">
        <h2 className="workflow-title">
          <span className="mono">{scheduleId}</span> {described ? <ScheduleStatus paused={paused} /> : null}
        </h2>
        <div className="head-actions">
          {described ? <ScheduleActions ns={ns} id={scheduleId} paused={paused} overlapPolicy={described.schedule?.policies?.overlapPolicy} onDone={reload} /> : null}
          <button onClick={reload}>Refresh</button>
        </div>
      </div>
      <ErrorBox error={error} />
      {paused ? (
        <div className="warning" style={{ marginBottom: 12 }} data-testid="paused-note">
          Paused{state?.notes ? `: ${state.notes}` : ''}
        </div>
      ) : null}
      {described ? (
        <>
          <ScheduleSummary described={described} />
          <div className="io-grid schedule-runs" style={{ marginTop: 0 }}>
            <div>
              <RecentRuns ns={ns} actions={recent} statuses={statuses} />
              <RunningWorkflows ns={ns} running={info?.runningWorkflows ?? []} />
            </div>
            <UpcomingRuns times={info?.futureActionTimes ?? []} paused={paused} />
          </div>
          <div className="io-grid" style={{ marginTop: 0 }}>
            <SpecView spec={described.schedule?.spec ?? {}} />
            <ScheduleAction ns={ns} described={described} />
          </div>
        </>
      ) : error === undefined ? (
        <div className="empty">Loading…</div>
      ) : null}
    </div>
  );
}
