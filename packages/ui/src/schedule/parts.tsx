// Small pieces the schedule list and page share: the paused/running badge, a time with how far away
// it is, and the run a schedule started (a link to its workflow).
import { StatusBadge } from '../components/common';
import { formatDuration, formatTime, parseTime } from '../format';
import { Link, workflowPath } from '../router';
import type { ScheduleActionResult } from './types';

export function ScheduleStatus({ paused }: { paused: boolean | undefined }) {
  return <span className={`badge ${paused ? 'schedule-paused' : 'status-Running'}`}>{paused ? 'Paused' : 'Running'}</span>;
}

/** `2026-11-21 12:00:00.000 (in 1m 20s)`, or `(3s ago)` for a time past. */
export function When({ time, now = Date.now() }: { time: string | undefined; now?: number }) {
  const ms = parseTime(time);
  if (ms === undefined) return <span className="muted">—</span>;
  const relative = ms >= now ? `in ${formatDuration(ms - now)}` : `${formatDuration(now - ms)} ago`;
  return (
    <span>
      {formatTime(ms)} <span className="muted" style={{ whiteSpace: 'nowrap' }}>({relative})</span>
    </span>
  );
}

/** The latest action first (the server keeps them oldest first, but the UI does not rely on it). */
export function newestFirst(actions: readonly ScheduleActionResult[] | undefined): ScheduleActionResult[] {
  const time = (a: ScheduleActionResult) => parseTime(a.actualTime) ?? parseTime(a.scheduleTime) ?? 0;
  return [...(actions ?? [])].sort((a, b) => time(b) - time(a));
}

/** The workflow a schedule action started, linked, with its status when known. */
export function ActionRun({ ns, action, status }: { ns: string; action: ScheduleActionResult; status?: string }) {
  const run = action.startWorkflowResult;
  if (run?.workflowId === undefined) return <span className="muted">no workflow</span>;
  const shown = status ?? action.startWorkflowStatus;
  return (
    <span className="action-run">
      <Link to={workflowPath(ns, run.workflowId, run.runId)} className="mono">
        {run.workflowId}
      </Link>{' '}
      {shown !== undefined && shown !== 'WORKFLOW_EXECUTION_STATUS_UNSPECIFIED' ? <StatusBadge status={shown} /> : null}
    </span>
  );
}
