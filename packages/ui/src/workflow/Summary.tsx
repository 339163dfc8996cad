// The top of the workflow page: status and identity, times, parent and children, input and result
// (decoded), the failure, and what the run is waiting on right now.
import { Field, FailureView, PayloadsView, StatusBadge, CopyButton } from '../components/common';
import { formatDuration, formatTime, parseTime, statusName } from '../format';
import { attributesOf, type EventGroup, type OpenWork } from '../history';
import { Link, workflowPath } from '../router';
import type { DescribeResponse, Failure, HistoryEvent, Payloads } from '../types';
import { forDisplay } from './display';
import { MemoAndAttributes } from '../components/common';

export function Summary({ ns, described, events, groups, open }: { ns: string; described: DescribeResponse; events: readonly HistoryEvent[]; groups: readonly EventGroup[]; open: OpenWork }) {
  const info = described.workflowExecutionInfo ?? {};
  const start = parseTime(info.startTime);
  const end = parseTime(info.closeTime);
  const startedAttrs = events[0] ? attributesOf(events[0]) : {};
  const closeEvent = open.closed ? events[events.length - 1] : undefined;
  const closeAttrs = closeEvent ? attributesOf(closeEvent) : {};
  const children = groups.filter((g) => g.category === 'child');
  const memo = info.memo?.fields && Object.keys(info.memo.fields).length > 0 ? forDisplay(info.memo) : undefined;
  const searchAttributes = info.searchAttributes?.indexedFields && Object.keys(info.searchAttributes.indexedFields).length > 0 ? forDisplay(info.searchAttributes) : undefined;
  return (
    <section className="summary">
      <div className="summary-grid">
        <Field label="Status">
          <StatusBadge status={info.status} />
        </Field>
        <Field label="Workflow type">{info.type?.name}</Field>
        <Field label="Task queue">
          <Link to={`/namespaces/${encodeURIComponent(ns)}/task-queues/${encodeURIComponent(info.taskQueue ?? '')}`}>{info.taskQueue}</Link>
        </Field>
        <Field label="Run ID">
          <span className="mono">{info.execution?.runId}</span> <CopyButton text={info.execution?.runId ?? ''} />
        </Field>
        <Field label="Start">{formatTime(info.startTime)}</Field>
        <Field label="End">{formatTime(info.closeTime) || <span className="muted">running</span>}</Field>
        <Field label="Duration">{start === undefined ? '' : formatDuration((end ?? Date.now()) - start)}</Field>
        <Field label="History">
          {info.historyLength} events{info.historySizeBytes ? `, ${(Number(info.historySizeBytes) / 1024).toFixed(1)} KiB` : ''}
        </Field>
        {info.parentExecution?.workflowId ? (
          <Field label="Parent">
            <Link to={workflowPath(ns, info.parentExecution.workflowId, info.parentExecution.runId)} className="mono">
              {info.parentExecution.workflowId}
            </Link>
          </Field>
        ) : null}
        {children.length > 0 ? (
          <Field label={`Children (${children.length})`}>
            <div className="children">
              {children.slice(0, 20).map((c) => {
                const first = c.events[0];
                const childId = first ? String(attributesOf(first)['workflowId'] ?? '') : '';
                const started = c.events.map(attributesOf).find((a) => a['workflowExecution'] !== undefined)?.['workflowExecution'] as { runId?: string } | undefined;
                return (
                  <Link key={c.id} to={workflowPath(ns, childId, started?.runId)} className="mono">
                    {childId}
                  </Link>
                );
              })}
              {children.length > 20 ? <span className="muted">and {children.length - 20} more (see the timeline)</span> : null}
            </div>
          </Field>
        ) : null}
      </div>

      <WaitingOn status={statusName(info.status)} open={open} described={described} />

      <div className="io-grid">
        <div className="io">
          <h4>Input</h4>
          <PayloadsView payloads={startedAttrs['input'] as Payloads | undefined} />
        </div>
        <div className="io">
          <h4>{closeAttrs['failure'] ? 'Failure' : 'Result'}</h4>
          {closeAttrs['failure'] ? (
            <FailureView failure={closeAttrs['failure'] as Failure} />
          ) : open.closed ? (
            closeAttrs['result'] ? <PayloadsView payloads={closeAttrs['result'] as Payloads} /> : <span className="muted">{closeEvent ? String(closeAttrs['reason'] ?? 'no result') : ''}</span>
          ) : (
            <span className="muted">not yet: the workflow is running</span>
          )}
        </div>
      </div>
      <MemoAndAttributes memo={memo} searchAttributes={searchAttributes} />
    </section>
  );
}

function WaitingOn({ status, open, described }: { status: string; open: OpenWork; described: DescribeResponse }) {
  if (status !== 'Running') return null;
  const items: string[] = [];
  for (const t of open.timers) items.push(`timer ${t.timerId}${t.firesAt ? `, fires at ${formatTime(t.firesAt)}` : ''}`);
  for (const a of described.pendingActivities ?? []) {
    items.push(`activity ${a.activityType?.name ?? ''} (${(a.state ?? '').replace('PENDING_ACTIVITY_STATE_', '').toLowerCase()}, attempt ${a.attempt ?? 1})`);
  }
  for (const c of open.children) items.push(`child workflow ${c.name} ${c.workflowId}`);
  if (open.workflowTask || described.pendingWorkflowTask) items.push('a worker to run its next workflow task');
  return (
    <div className="waiting" data-testid="waiting-on">
      <b>Waiting on:</b>{' '}
      {items.length > 0 ? items.join(' · ') : 'a signal, an update or a condition in the workflow code (nothing scheduled on the server)'}
    </div>
  );
}
