// The top of a schedule's page: when it runs, its policies and state; and the workflow it starts, with
// the input decoded as on a workflow's page.
import { Field, MemoAndAttributes, PayloadsView } from '../components/common';
import { durationMs, formatTime } from '../format';
import { Link, enc } from '../router';
import { forDisplay } from '../workflow/display';
import { When } from './parts';
import { describeSpec, durationWords, overlapPolicyText } from './spec';
import type { DescribeScheduleResponse } from './types';

/** Temporal's default catch-up window when a schedule sets none. */
const DEFAULT_CATCHUP_WINDOW_MS = 365 * 86_400_000;

export function ScheduleSummary({ described }: { described: DescribeScheduleResponse }) {
  const schedule = described.schedule ?? {};
  const info = described.info ?? {};
  const spec = schedule.spec ?? {};
  const policies = schedule.policies ?? {};
  const state = schedule.state ?? {};
  const overlap = overlapPolicyText(policies.overlapPolicy);
  const catchup = durationMs(policies.catchupWindow);
  const memo = described.memo?.fields && Object.keys(described.memo.fields).length > 0 ? forDisplay(described.memo) : undefined;
  const searchAttributes = described.searchAttributes?.indexedFields && Object.keys(described.searchAttributes.indexedFields).length > 0 ? forDisplay(described.searchAttributes) : undefined;
  return (
    <section className="summary" data-testid="schedule-summary">
      <div className="summary-grid">
        <Field label="Runs">
          <span data-testid="schedule-spec">{describeSpec(spec)}</span>
        </Field>
        <Field label="Time zone">{spec.timezoneName || <span>UTC <span className="muted">(default)</span></span>}</Field>
        <Field label="Next run">{state.paused ? <span className="muted">paused</span> : <When time={info.futureActionTimes?.[0]} />}</Field>
        <Field label="Overlap policy">
          <span title={overlap.meaning}>{overlap.name}</span>
        </Field>
        <Field label="Catch-up window">{catchup === undefined ? <span>{durationWords(DEFAULT_CATCHUP_WINDOW_MS)} <span className="muted">(default)</span></span> : durationWords(catchup)}</Field>
        <Field label="Pause on failure">{policies.pauseOnFailure ? 'yes' : 'no'}</Field>
        <Field label="Remaining actions">{state.limitedActions ? (state.remainingActions ?? '0') : 'unlimited'}</Field>
        <Field label="Actions taken">
          {info.actionCount ?? '0'}
          {Number(info.overlapSkipped ?? 0) > 0 ? <span className="muted"> · {info.overlapSkipped} skipped (overlap)</span> : null}
          {Number(info.missedCatchupWindow ?? 0) > 0 ? <span className="muted"> · {info.missedCatchupWindow} missed (catch-up window)</span> : null}
          {Number(info.bufferDropped ?? 0) > 0 ? <span className="muted"> · {info.bufferDropped} dropped (buffer full)</span> : null}
        </Field>
        {spec.startTime ? <Field label="Not before">{formatTime(spec.startTime)}</Field> : null}
        {spec.endTime ? <Field label="Not after">{formatTime(spec.endTime)}</Field> : null}
        {spec.jitter && durationMs(spec.jitter) ? <Field label="Jitter">up to {durationWords(durationMs(spec.jitter))}</Field> : null}
        <Field label="Created">{formatTime(info.createTime)}</Field>
        {info.updateTime ? <Field label="Updated">{formatTime(info.updateTime)}</Field> : null}
        <Field label="Notes">{state.notes ? <span data-testid="schedule-notes">{state.notes}</span> : <span className="muted">none</span>}</Field>
      </div>
      {info.invalidScheduleError ? <div className="error-box">{info.invalidScheduleError}</div> : null}

      <MemoAndAttributes memo={memo} searchAttributes={searchAttributes} />
    </section>
  );
}

/** What the schedule does at each time: start a workflow (the only action Temporal has). */
export function ScheduleAction({ ns, described }: { ns: string; described: DescribeScheduleResponse }) {
  const start = described.schedule?.action?.startWorkflow;
  if (start === undefined) {
    return (
      <section className="card">
        <div className="card-head">
          <b>Action</b>
        </div>
        <span className="muted">not a workflow start: this UI shows only workflow actions</span>
      </section>
    );
  }
  const taskQueue = start.taskQueue?.name ?? '';
  const timeouts: Array<[string, string | undefined]> = [
    ['Execution timeout', start.workflowExecutionTimeout],
    ['Run timeout', start.workflowRunTimeout],
    ['Task timeout', start.workflowTaskTimeout],
  ];
  return (
    <section className="card" data-testid="schedule-action">
      <div className="card-head">
        <b>Action: start a workflow</b>
      </div>
      <div className="summary-grid">
        <Field label="Workflow type">{start.workflowType?.name}</Field>
        <Field label="Workflow ID">
          <span className="mono">{start.workflowId}</span>
          {described.schedule?.policies?.keepOriginalWorkflowId ? null : <span className="muted"> (each run adds its scheduled time)</span>}
        </Field>
        <Field label="Task queue">
          <Link to={`/namespaces/${enc(ns)}/task-queues/${enc(taskQueue)}`}>{taskQueue}</Link>
        </Field>
        {timeouts
          .filter(([, value]) => durationMs(value))
          .map(([label, value]) => (
            <Field key={label} label={label}>
              {durationWords(durationMs(value))}
            </Field>
          ))}
      </div>
      <h4 style={{ marginTop: 12 }}>Input</h4>
      <PayloadsView payloads={start.input} />
    </section>
  );
}
