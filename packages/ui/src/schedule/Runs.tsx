// A schedule's runs: the times it will run next, the runs it started lately (linked to their workflows,
// with their current status) and the workflows of its still running.
import { useEffect, useRef, useState } from 'react';
import { api } from '../api';
import { formatTime, statusName } from '../format';
import { Link, workflowPath } from '../router';
import { ActionRun, newestFirst, When } from './parts';
import type { ScheduleActionResult } from './types';
import type { Execution } from '../types';

const runKey = (a: ScheduleActionResult) => `${a.startWorkflowResult?.workflowId ?? ''}/${a.startWorkflowResult?.runId ?? ''}`;

/** The current status of each recent run. The schedule records a run's status when it started (and a
 * server may or may not update it), so each run still open is described again on every `refresh`. */
export function useRunStatuses(ns: string, actions: readonly ScheduleActionResult[], refresh: number): Readonly<Record<string, string>> {
  const [statuses, setStatuses] = useState<Record<string, string>>({});
  const known = useRef(statuses);
  known.current = statuses;
  const latest = useRef(actions);
  latest.current = actions;
  // The runs themselves as the dependency, not the array (a new one on every render of the page).
  const runs = actions.map(runKey).join(',');
  useEffect(() => {
    const controller = new AbortController();
    const open = latest.current.filter((a) => a.startWorkflowResult?.workflowId && !isClosed(known.current[runKey(a)]));
    void Promise.all(
      open.map(async (a): Promise<[string, string] | undefined> => {
        const run = a.startWorkflowResult ?? {};
        try {
          const described = await api.describeWorkflow(ns, run.workflowId ?? '', run.runId);
          const status = described.workflowExecutionInfo?.status;
          return status === undefined ? undefined : [runKey(a), status];
        } catch {
          return undefined; // gone (retention) or unreadable: the recorded status stays
        }
      }),
    ).then((found) => {
      if (controller.signal.aborted) return;
      const fresh = found.filter((f): f is [string, string] => f !== undefined);
      if (fresh.length > 0) setStatuses((s) => ({ ...s, ...Object.fromEntries(fresh) }));
    });
    return () => controller.abort();
  }, [ns, runs, refresh]);
  return statuses;
}

function isClosed(status: string | undefined): boolean {
  return status !== undefined && statusName(status) !== 'Running' && statusName(status) !== 'Unspecified';
}

export function UpcomingRuns({ times, paused }: { times: readonly string[]; paused: boolean }) {
  return (
    <section className="card" data-testid="upcoming-runs">
      <div className="card-head">
        <b>Upcoming runs</b>
        {paused ? <span className="muted">paused: none of these starts until the schedule is unpaused</span> : null}
      </div>
      {times.length === 0 ? (
        <div className="muted">No upcoming times: the spec matches none after now.</div>
      ) : (
        <table className="table">
          <tbody>
            {times.map((t) => (
              <tr key={t}>
                <td>
                  <When time={t} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function RecentRuns({ ns, actions, statuses }: { ns: string; actions: readonly ScheduleActionResult[]; statuses: Readonly<Record<string, string>> }) {
  const rows = newestFirst(actions);
  return (
    <section className="card" data-testid="recent-runs">
      <div className="card-head">
        <b>Recent runs</b>
        <span className="muted">newest first</span>
      </div>
      {rows.length === 0 ? (
        <div className="muted">None yet.</div>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Workflow</th>
              <th>Scheduled for</th>
              <th>Started at</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr key={`${runKey(a)}/${a.scheduleTime ?? ''}`} data-workflow-id={a.startWorkflowResult?.workflowId}>
                <td>
                  <ActionRun ns={ns} action={a} status={statuses[runKey(a)]} />
                </td>
                <td>{formatTime(a.scheduleTime)}</td>
                <td>
                  <When time={a.actualTime} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function RunningWorkflows({ ns, running }: { ns: string; running: readonly Execution[] }) {
  return (
    <section className="card" data-testid="running-workflows">
      <div className="card-head">
        <b>Running workflows</b>
        <span className="muted">{running.length}</span>
      </div>
      {running.length === 0 ? (
        <div className="muted">None right now.</div>
      ) : (
        <div className="children">
          {running.map((w) => (
            <Link key={`${w.workflowId}/${w.runId}`} to={workflowPath(ns, w.workflowId ?? '', w.runId)} className="mono">
              {w.workflowId}
            </Link>
          ))}
        </div>
      )}
    </section>
  );
}
