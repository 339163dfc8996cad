// One workflow run: summary, then tabs for its history (compact/full/JSON), timeline, graph, pending
// activities, call stack and queries. The history is fetched page by page and shown as it arrives.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, fetchHistory } from '../api';
import { ErrorBox, StatusBadge, Tabs } from '../components/common';
import { statusName } from '../format';
import { groupEvents, openWork, resetPoints, timelineSpans } from '../history';
import { Link, setSearch, enc } from '../router';
import type { DescribeResponse, HistoryEvent } from '../types';
import { Actions } from '../workflow/Actions';
import { HistoryView, type HistoryMode } from '../workflow/HistoryView';
import { PendingActivities } from '../workflow/PendingActivities';
import { QueryPanel, StackTrace } from '../workflow/Queries';
import { Summary } from '../workflow/Summary';
import { Timeline } from '../workflow/Timeline';
import { Graph } from '../workflow/Graph';
import { downloadHistory } from '../workflow/exportHistory';

type Tab = 'history' | 'timeline' | 'graph' | 'pending' | 'stack' | 'queries';
const TABS = ['history', 'timeline', 'graph', 'pending', 'stack', 'queries'] as const;
/** Running workflows with short histories refresh themselves; long ones on demand. */
const AUTO_REFRESH_MAX_EVENTS = 5000;

export function WorkflowPage({ ns, workflowId, runId, search }: { ns: string; workflowId: string; runId: string | undefined; search: URLSearchParams }) {
  const tabParam = search.get('tab');
  const tab: Tab = TABS.find((t) => t === tabParam) ?? 'history';
  const mode: HistoryMode = search.get('view') === 'full' ? 'full' : search.get('view') === 'json' ? 'json' : 'compact';
  const [described, setDescribed] = useState<DescribeResponse>();
  const [events, setEvents] = useState<HistoryEvent[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();
  const [version, setVersion] = useState(0);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  const shownEvents = useRef(0);
  shownEvents.current = events.length;

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    (async () => {
      const d = await api.describeWorkflow(ns, workflowId, runId);
      if (controller.signal.aborted) return;
      setDescribed(d);
      setError(undefined);
      const actualRunId = runId ?? d.workflowExecutionInfo?.execution?.runId;
      // Render every ~20 pages while loading: often enough to look alive, rarely enough to stay cheap.
      // A refresh of a history already shown swaps it in whole, so the list never shrinks meanwhile.
      const refresh = shownEvents.current > 0;
      let pages = 0;
      await fetchHistory(
        ns,
        workflowId,
        actualRunId,
        (list, done) => {
          if (done || (!refresh && pages++ % 20 === 0)) setEvents([...list]);
        },
        controller.signal,
      );
    })()
      .catch((err: unknown) => {
        if (!controller.signal.aborted) setError(err);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [ns, workflowId, runId, version]);

  const running = statusName(described?.workflowExecutionInfo?.status) === 'Running';
  useEffect(() => {
    if (!running || loading || events.length > AUTO_REFRESH_MAX_EVENTS) return;
    const timer = setTimeout(reload, 3000);
    return () => clearTimeout(timer);
  }, [running, loading, events.length, reload]);

  const groups = useMemo(() => groupEvents(events), [events]);
  const spans = useMemo(() => timelineSpans(groups), [groups]);
  const open = useMemo(() => openWork(events, groups), [events, groups]);
  const points = useMemo(() => resetPoints(events), [events]);
  const info = described?.workflowExecutionInfo;
  const actualRunId = runId ?? info?.execution?.runId;
  const taskQueue = info?.taskQueue ?? described?.executionConfig?.taskQueue?.name ?? '';

  return (
    <div className="page workflow-page">
      <div className="breadcrumbs">
        <Link to={`/namespaces/${enc(ns)}/workflows`}>Workflows</Link> / <span className="mono">{workflowId}</span>
      </div>
      <div className="page-head">
        <h2 className="workflow-title">
          <span className="mono">{workflowId}</span> {info ? <StatusBadge status={info.status} /> : null}
        </h2>
        <div className="head-actions">
          {described ? <Actions ns={ns} id={workflowId} runId={actualRunId} running={running} resetPoints={points} onDone={reload} /> : null}
          <button disabled={events.length === 0} onClick={() => downloadHistory(events, `${workflowId}_${actualRunId ?? 'run'}_history.json`)}>
            Export JSON
          </button>
          <button onClick={reload}>Refresh</button>
        </div>
      </div>
      <ErrorBox error={error} />
      {described ? <Summary ns={ns} described={described} events={events} groups={groups} open={open} /> : error === undefined ? <div className="empty">Loading…</div> : null}
      {described ? (
        <>
          <Tabs
            tabs={[
              ['history', 'History'],
              ['timeline', `Timeline (${spans.length})`],
              ['graph', 'Graph'],
              ['pending', `Pending activities (${described.pendingActivities?.length ?? 0})`],
              ['stack', 'Call stack'],
              ['queries', 'Queries'],
            ]}
            value={tab}
            onChange={(t) => setSearch({ tab: t === 'history' ? undefined : t })}
          />
          {tab === 'history' ? <HistoryView events={events} groups={groups} mode={mode} onMode={(m) => setSearch({ view: m === 'compact' ? undefined : m })} loading={loading} /> : null}
          {tab === 'timeline' ? <Timeline spans={spans} events={events} /> : null}
          {tab === 'graph' ? <Graph ns={ns} groups={groups} workflowType={info?.type?.name ?? ''} status={statusName(info?.status)} /> : null}
          {tab === 'pending' ? <PendingActivities activities={described.pendingActivities ?? []} /> : null}
          {tab === 'stack' ? <StackTrace ns={ns} id={workflowId} runId={actualRunId} taskQueue={taskQueue} /> : null}
          {tab === 'queries' ? <QueryPanel ns={ns} id={workflowId} runId={actualRunId} taskQueue={taskQueue} /> : null}
        </>
      ) : null}
    </div>
  );
}
