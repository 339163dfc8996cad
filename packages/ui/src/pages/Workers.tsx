// Workers (docs/workers.md): the workers that heartbeat to the server, filtered with the worker query
// language, and one worker's latest heartbeat in full. The list and the page refresh every 5 s.
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { api, ApiError } from '../api';
import { ErrorBox, Field, JsonBlock, Pager, QueryBar, RefreshControls } from '../components/common';
import { quote } from '../listQuery';
import { durationMs, formatDuration, formatTime, timeAgo } from '../format';
import { usePolling } from '../polling';
import { Link, enc, setSearch } from '../router';
import type { DeploymentVersion, WorkerHeartbeat, WorkerListInfo, WorkerPollerInfo, WorkerSlotsInfo } from '../types';

const PAGE_SIZE = 100;
export const RUNNING_QUERY = "WorkerStatus = 'Running'";
const NOT_FOUND = 5;

export const workersPath = (ns: string) => `/namespaces/${enc(ns)}/workers`;
export const workerPath = (ns: string, key: string) => `${workersPath(ns)}/${enc(key)}`;
const taskQueuePath = (ns: string, name: string) => `/namespaces/${enc(ns)}/task-queues/${enc(name)}`;

/** `WORKER_STATUS_SHUTTING_DOWN` -> ["Shutting down", "ShuttingDown"] (label, badge class). */
function statusOf(status: string | undefined): [string, string] {
  const words = (status ?? 'WORKER_STATUS_UNSPECIFIED').replace('WORKER_STATUS_', '').toLowerCase().split('_');
  const label = words.join(' ');
  return [label.charAt(0).toUpperCase() + label.slice(1), words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')];
}

export function WorkerStatusBadge({ status }: { status: string | undefined }) {
  const [label, name] = statusOf(status);
  return <span className={`badge status-${name}`}>{label}</span>;
}

function versionText(v: DeploymentVersion | undefined): string {
  if (!v?.buildId && !v?.deploymentName) return '';
  return v.deploymentName ? `${v.deploymentName}@${v.buildId ?? ''}` : (v.buildId ?? '');
}

const percent = (v: number | undefined) => `${((v ?? 0) * 100).toFixed(1)}%`;
const num = (v: number | undefined) => String(v ?? 0);

/** Whether the namespace's server keeps heartbeats (undefined while it is not known). */
function useHeartbeatsEnabled(ns: string): boolean | undefined {
  const [enabled, setEnabled] = useState<boolean>();
  useEffect(() => {
    let cancelled = false;
    setEnabled(undefined);
    api.describeNamespace(ns).then(
      (d) => {
        if (!cancelled) setEnabled(d.namespaceInfo?.capabilities?.['workerHeartbeats'] === true);
      },
      () => undefined, // the list shows the server's error
    );
    return () => {
      cancelled = true;
    };
  }, [ns]);
  return enabled;
}

function DisabledNote() {
  return (
    <div className="warning" data-testid="workers-disabled">
      This server keeps no worker heartbeats: it was started with <code>frontend.WorkerHeartbeatsEnabled=false</code>, so workers are
      not listed. Start it without that dynamic config value (heartbeats are on by default) to see them here.
    </div>
  );
}

export function WorkerList({ ns, search }: { ns: string; search: URLSearchParams }) {
  const query = search.get('query') ?? '';
  const enabled = useHeartbeatsEnabled(ns);
  const [tokens, setTokens] = useState<Array<string | undefined>>([undefined]);
  const [pageIndex, setPageIndex] = useState(0);
  const [rows, setRows] = useState<WorkerListInfo[]>();
  const [beats, setBeats] = useState<Map<string, WorkerHeartbeat>>(new Map());
  const [next, setNext] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [counts, setCounts] = useState<{ all?: string; running?: string }>({});
  const [autoRefresh, setAutoRefresh] = useState(search.get('refresh') !== 'off');
  const [tick, setTick] = useState(0);

  useEffect(() => {
    setTokens([undefined]);
    setPageIndex(0);
  }, [query, ns]);

  const load = useCallback(
    async (signal: AbortSignal) => {
      try {
        const page = await api.listWorkers(ns, query, PAGE_SIZE, tokens[pageIndex], signal);
        setRows(page.workers ?? []);
        const byKey = new Map<string, WorkerHeartbeat>();
        for (const info of page.workersInfo ?? []) if (info.workerHeartbeat?.workerInstanceKey) byKey.set(info.workerHeartbeat.workerInstanceKey, info.workerHeartbeat);
        setBeats(byKey);
        setNext(page.nextPageToken || undefined);
        setError(undefined);
      } catch (err) {
        if (signal.aborted) return;
        setError(err);
        setRows(undefined);
      }
      try {
        const [all, running] = await Promise.all([api.countWorkers(ns, '', signal), api.countWorkers(ns, RUNNING_QUERY, signal)]);
        setCounts({ all: all.count ?? '0', running: running.count ?? '0' });
      } catch {
        if (!signal.aborted) setCounts({});
      }
    },
    [ns, query, tokens, pageIndex, tick], // tick: the Refresh button
  );
  usePolling(load, autoRefresh);

  const chip = (label: string, q: string, count: string | undefined) => (
    <button className={`count-chip ${query === q ? 'active' : ''}`} data-filter={label} onClick={() => setSearch({ query: q })}>
      {label} <b>{count ?? '–'}</b>
    </button>
  );

  return (
    <div className="page">
      <div className="page-head">
        <h2>Workers</h2>
        <div className="head-actions">
          <RefreshControls autoRefresh={autoRefresh} setAutoRefresh={setAutoRefresh} refresh={() => setTick((t) => t + 1)} />
        </div>
      </div>
      <p className="muted">
        The workers that heartbeat to this namespace, with the latest heartbeat of each. A worker that stops heartbeating is forgotten after 5
        minutes.
      </p>
      {enabled === false ? (
        <DisabledNote />
      ) : (
        <>
          <QueryBar label="Worker query" placeholder="TaskQueue = 'orders' AND WorkerStatus = 'Running'" value={query} onRun={(q) => setSearch({ query: q })}>
            <button type="button" onClick={() => setSearch({ query: undefined })}>
              Clear
            </button>
          </QueryBar>
          <div className="status-counts" aria-label="Worker filters">
            {chip('All', '', counts.all)}
            {chip('Running', RUNNING_QUERY, counts.running)}
          </div>
          <ErrorBox error={error} />
          <div className="table-wrap">
            <table className="table workers">
              <thead>
                <tr>
                  <th>Status</th>
                  <th>Instance</th>
                  <th>Task queue</th>
                  <th>Identity</th>
                  <th>Host</th>
                  <th>SDK</th>
                  <th>Deployment version</th>
                  <th>Started</th>
                  <th>Last heartbeat</th>
                </tr>
              </thead>
              <tbody>
                {rows?.map((w) => <WorkerRow key={w.workerInstanceKey} ns={ns} w={w} beat={beats.get(w.workerInstanceKey ?? '')} />)}
              </tbody>
            </table>
            {rows?.length === 0 ? (
              <div className="empty">
                {query ? (
                  <>
                    No worker matches <code>{query}</code>.
                  </>
                ) : (
                  'No worker has sent a heartbeat to this namespace yet.'
                )}{' '}
                SDK workers report about once a minute (TypeScript: <code>Runtime.install({'{ workerHeartbeatInterval }'})</code>), so a new
                worker shows up within a minute of starting.
              </div>
            ) : null}
            {rows === undefined && error === undefined ? <div className="empty">Loading…</div> : null}
          </div>
          <Pager pageIndex={pageIndex} next={next} tokens={tokens} setTokens={setTokens} setPageIndex={setPageIndex} />
        </>
      )}
    </div>
  );
}

function WorkerRow({ ns, w, beat }: { ns: string; w: WorkerListInfo; beat: WorkerHeartbeat | undefined }) {
  const key = w.workerInstanceKey ?? '';
  const version = versionText(w.deploymentVersion);
  return (
    <tr data-worker-key={key}>
      <td>
        <WorkerStatusBadge status={w.status} />
      </td>
      <td>
        <Link to={workerPath(ns, key)} className="mono">
          {key}
        </Link>
      </td>
      <td>
        {w.taskQueue ? (
          <Link to={taskQueuePath(ns, w.taskQueue)} className="mono">
            {w.taskQueue}
          </Link>
        ) : null}
      </td>
      <td className="mono">{w.workerIdentity}</td>
      <td>
        {w.hostName}
        {w.processId ? <span className="muted"> (pid {w.processId})</span> : null}
      </td>
      <td>{[w.sdkName, w.sdkVersion].filter(Boolean).join(' ')}</td>
      <td className="mono">{version || <span className="muted">–</span>}</td>
      <td title={timeAgo(w.startTime)}>{formatTime(w.startTime)}</td>
      <td title={formatTime(beat?.heartbeatTime)} data-column="last-heartbeat">
        {timeAgo(beat?.heartbeatTime)}
      </td>
    </tr>
  );
}

export function WorkerPage({ ns, workerKey }: { ns: string; workerKey: string }) {
  const [beat, setBeat] = useState<WorkerHeartbeat>();
  const [error, setError] = useState<unknown>();
  const load = useCallback(
    async (signal: AbortSignal) => {
      try {
        const answer = await api.describeWorker(ns, workerKey, signal);
        setBeat(answer.workerInfo?.workerHeartbeat ?? {});
        setError(undefined);
      } catch (err) {
        if (signal.aborted) return;
        setError(err);
        setBeat(undefined);
      }
    },
    [ns, workerKey],
  );
  usePolling(load, true);
  const notFound = error instanceof ApiError && (error.code === NOT_FOUND || error.status === 404);
  return (
    <div className="page">
      <div className="page-head">
        <h2 className="workflow-title">
          Worker <span className="mono">{workerKey}</span>
          {beat ? <WorkerStatusBadge status={beat.status} /> : null}
        </h2>
        <div className="head-actions">
          <Link to={workersPath(ns)}>All workers</Link>
        </div>
      </div>
      {notFound ? (
        <div className="warning" data-testid="worker-not-found">
          Worker <code>{workerKey}</code> not found: it never sent a heartbeat to this namespace, or it stopped heartbeating (workers that stop
          heartbeating are forgotten after 5 minutes).
        </div>
      ) : (
        <ErrorBox error={error} />
      )}
      {beat ? <HeartbeatView ns={ns} beat={beat} /> : null}
    </div>
  );
}

function Section({ title, id, children }: { title: string; id: string; children: ReactNode }) {
  return (
    <section className="card" data-testid={id}>
      <h4>{title}</h4>
      {children}
    </section>
  );
}

const SLOTS: ReadonlyArray<[string, keyof WorkerHeartbeat]> = [
  ['Workflow tasks', 'workflowTaskSlotsInfo'],
  ['Activity tasks', 'activityTaskSlotsInfo'],
  ['Nexus tasks', 'nexusTaskSlotsInfo'],
  ['Local activities', 'localActivitySlotsInfo'],
];
const POLLERS: ReadonlyArray<[string, keyof WorkerHeartbeat]> = [
  ['Workflow', 'workflowPollerInfo'],
  ['Workflow (sticky)', 'workflowStickyPollerInfo'],
  ['Activity', 'activityPollerInfo'],
  ['Nexus', 'nexusPollerInfo'],
];

function HeartbeatView({ ns, beat }: { ns: string; beat: WorkerHeartbeat }) {
  const host = beat.hostInfo ?? {};
  const hits = beat.totalStickyCacheHit ?? 0;
  const misses = beat.totalStickyCacheMiss ?? 0;
  const elapsed = durationMs(beat.elapsedSinceLastHeartbeat);
  const none = <span className="muted">–</span>;
  return (
    <>
      <Section title="Identity and host" id="worker-identity">
        <div className="summary-grid">
          <Field label="Status">
            <WorkerStatusBadge status={beat.status} />
          </Field>
          <Field label="Identity">
            <span className="mono">{beat.workerIdentity || '–'}</span>
          </Field>
          <Field label="Task queue">
            {beat.taskQueue ? (
              <Link to={taskQueuePath(ns, beat.taskQueue)} className="mono">
                {beat.taskQueue}
              </Link>
            ) : (
              none
            )}
          </Field>
          <Field label="SDK">{[beat.sdkName, beat.sdkVersion].filter(Boolean).join(' ') || '–'}</Field>
          <Field label="Host">{host.hostName || '–'}</Field>
          <Field label="Process id">{host.processId || '–'}</Field>
          <Field label="Worker grouping key">
            <span className="mono">{host.workerGroupingKey || '–'}</span>
          </Field>
          <Field label="Host CPU">{percent(host.currentHostCpuUsage)}</Field>
          <Field label="Host memory">{percent(host.currentHostMemUsage)}</Field>
        </div>
      </Section>
      <Section title="Deployment" id="worker-deployment">
        <div className="summary-grid">
          <Field label="Deployment name">{beat.deploymentVersion?.deploymentName || none}</Field>
          <Field label="Build id">
            <span className="mono">{beat.deploymentVersion?.buildId || '–'}</span>
          </Field>
          <Field label="Version">
            <span className="mono">{versionText(beat.deploymentVersion) || '–'}</span>
          </Field>
        </div>
      </Section>
      <Section title="Times" id="worker-times">
        <div className="summary-grid">
          <Field label="Started">
            {formatTime(beat.startTime) || '–'} <span className="muted nowrap">{timeAgo(beat.startTime)}</span>
          </Field>
          <Field label="Last heartbeat">
            {formatTime(beat.heartbeatTime) || '–'} <span className="muted nowrap">{timeAgo(beat.heartbeatTime)}</span>
          </Field>
          <Field label="Since the heartbeat before">{elapsed === undefined ? '–' : formatDuration(elapsed)}</Field>
        </div>
      </Section>
      <Section title="Slots" id="worker-slots">
        <table className="table">
          <thead>
            <tr>
              <th>Task type</th>
              <th>Used</th>
              <th>Available</th>
              <th>Supplier</th>
              <th>Processed</th>
              <th>Failed</th>
              <th>Processed (last interval)</th>
              <th>Failed (last interval)</th>
            </tr>
          </thead>
          <tbody>
            {SLOTS.map(([label, field]) => {
              const s = beat[field] as WorkerSlotsInfo | undefined;
              return (
                <tr key={field} data-slots={field}>
                  <td>{label}</td>
                  {s === undefined ? (
                    <td colSpan={7} className="muted">
                      not reported
                    </td>
                  ) : (
                    <>
                      <td>{num(s.currentUsedSlots)}</td>
                      <td>{num(s.currentAvailableSlots)}</td>
                      <td>{s.slotSupplierKind || '–'}</td>
                      <td>{num(s.totalProcessedTasks)}</td>
                      <td>{num(s.totalFailedTasks)}</td>
                      <td>{num(s.lastIntervalProcessedTasks)}</td>
                      <td>{num(s.lastIntervalFailureTasks)}</td>
                    </>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </Section>
      <Section title="Pollers" id="worker-pollers">
        <table className="table">
          <thead>
            <tr>
              <th>Kind</th>
              <th>Current pollers</th>
              <th>Last successful poll</th>
              <th>Autoscaling</th>
            </tr>
          </thead>
          <tbody>
            {POLLERS.map(([label, field]) => {
              const p = beat[field] as WorkerPollerInfo | undefined;
              return (
                <tr key={field} data-pollers={field}>
                  <td>{label}</td>
                  {p === undefined ? (
                    <td colSpan={3} className="muted">
                      not reported
                    </td>
                  ) : (
                    <>
                      <td>{num(p.currentPollers)}</td>
                      <td title={formatTime(p.lastSuccessfulPollTime)}>{timeAgo(p.lastSuccessfulPollTime) || '–'}</td>
                      <td>{p.isAutoscaling ? 'yes' : 'no'}</td>
                    </>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </Section>
      <Section title="Sticky cache" id="worker-sticky-cache">
        <div className="summary-grid">
          <Field label="Hits">{hits}</Field>
          <Field label="Misses">{misses}</Field>
          <Field label="Hit rate">{hits + misses === 0 ? '–' : `${((hits / (hits + misses)) * 100).toFixed(1)}%`}</Field>
          <Field label="Cached workflows">{num(beat.currentStickyCacheSize)}</Field>
        </div>
      </Section>
      <Section title="Plugins" id="worker-plugins">
        {beat.plugins?.length ? (
          <ul className="plugins">
            {beat.plugins.map((p, i) => (
              <li key={i}>
                <span className="mono">{p.name}</span> <span className="muted">{p.version}</span>
              </li>
            ))}
          </ul>
        ) : (
          <span className="muted">none</span>
        )}
      </Section>
      <details className="card">
        <summary>The heartbeat as JSON</summary>
        <JsonBlock value={beat} />
      </details>
    </>
  );
}

/** The workers of one task queue, for the task queue page (nothing when none heartbeats). */
export function TaskQueueWorkers({ ns, taskQueue }: { ns: string; taskQueue: string }) {
  const [rows, setRows] = useState<WorkerListInfo[]>();
  const load = useCallback(
    async (signal: AbortSignal) => {
      try {
        const page = await api.listWorkers(ns, `TaskQueue = ${quote(taskQueue)}`, PAGE_SIZE, undefined, signal);
        setRows(page.workers ?? []);
      } catch {
        if (!signal.aborted) setRows(undefined); // an older server, or heartbeats off: show nothing
      }
    },
    [ns, taskQueue],
  );
  usePolling(load, true);
  if (!rows?.length) return null;
  return (
    <div className="queue-workers" data-testid="queue-workers">
      <span className="muted">Workers:</span>
      {rows.map((w) => (
        <Link key={w.workerInstanceKey} to={workerPath(ns, w.workerInstanceKey ?? '')} className="queue-worker">
          <WorkerStatusBadge status={w.status} /> <span className="mono">{w.workerIdentity || w.workerInstanceKey}</span>
        </Link>
      ))}
    </div>
  );
}
