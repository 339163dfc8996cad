// Task queues and their pollers. Temporal has no "list task queues" call, so the queues shown are
// those of recent workflows (from the list API), each described for workflow and activity pollers.
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../api';
import { quote } from '../listQuery';
import { ErrorBox } from '../components/common';
import { formatTime, timeAgo } from '../format';
import { Link, navigate, enc } from '../router';
import type { TaskQueueDescription } from '../types';
import { TaskQueueWorkers } from './Workers';

interface QueueView {
  readonly name: string;
  readonly workflow: TaskQueueDescription;
  readonly activity: TaskQueueDescription;
}

async function describeQueue(ns: string, name: string): Promise<QueueView> {
  const [workflow, activity] = await Promise.all([api.describeTaskQueue(ns, name, 'TASK_QUEUE_TYPE_WORKFLOW'), api.describeTaskQueue(ns, name, 'TASK_QUEUE_TYPE_ACTIVITY')]);
  return { name, workflow, activity };
}

export function TaskQueues({ ns, name }: { ns: string; name: string | undefined }) {
  const [queues, setQueues] = useState<QueueView[]>();
  const [error, setError] = useState<unknown>();
  const [lookup, setLookup] = useState('');
  useEffect(() => {
    let cancelled = false;
    const load = async () => {
      let names: string[];
      if (name !== undefined) names = [name];
      else {
        const recent = await api.listWorkflows(ns, '', 500);
        names = [...new Set((recent.executions ?? []).map((w) => w.taskQueue ?? '').filter(Boolean))].sort();
      }
      const described = await Promise.all(names.map((n) => describeQueue(ns, n)));
      if (!cancelled) setQueues(described);
    };
    load().catch((err: unknown) => setError(err));
    const timer = setInterval(() => void load().catch(() => undefined), 5000);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [ns, name]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (lookup.trim()) navigate(`/namespaces/${enc(ns)}/task-queues/${enc(lookup.trim())}`);
  };
  return (
    <div className="page">
      <div className="page-head">
        <h2>{name === undefined ? 'Task queues' : <>Task queue <span className="mono">{name}</span></>}</h2>
        <form className="head-actions" onSubmit={submit}>
          <input aria-label="Task queue name" placeholder="Task queue name…" value={lookup} onChange={(e) => setLookup(e.target.value)} />
          <button type="submit">Describe</button>
        </form>
      </div>
      {name === undefined ? <p className="muted">Queues used by the latest workflows of this namespace, with their pollers and backlog (refreshed every 5 s).</p> : null}
      <ErrorBox error={error} />
      {queues?.length === 0 ? <div className="empty">No task queues yet: start a workflow.</div> : null}
      {queues?.map((q) => <QueueCard key={q.name} ns={ns} queue={q} />)}
    </div>
  );
}

function QueueCard({ ns, queue }: { ns: string; queue: QueueView }) {
  const rows = [
    ...(queue.workflow.pollers ?? []).map((p) => ({ ...p, kind: 'Workflow' })),
    ...(queue.activity.pollers ?? []).map((p) => ({ ...p, kind: 'Activity' })),
  ];
  const backlog = (d: TaskQueueDescription) => d.stats?.approximateBacklogCount ?? d.taskQueueStatus?.backlogCountHint ?? '0';
  return (
    <section className="card" data-task-queue={queue.name}>
      <div className="card-head">
        <Link to={`/namespaces/${enc(ns)}/task-queues/${enc(queue.name)}`} className="mono">
          <b>{queue.name}</b>
        </Link>
        <span className="muted">
          backlog: workflow tasks {backlog(queue.workflow)} · activity tasks {backlog(queue.activity)}
        </span>
        <Link to={`/namespaces/${enc(ns)}/workflows?raw=1&query=${enc(`TaskQueue = ${quote(queue.name)}`)}`}>workflows →</Link>
      </div>
      <TaskQueueWorkers ns={ns} taskQueue={queue.name} />
      {rows.length === 0 ? (
        <div className="warning">No pollers: no worker is polling this queue, so its tasks wait.</div>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Poller identity</th>
              <th>Type</th>
              <th>Last poll</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => (
              <tr key={`${p.kind}/${p.identity}`}>
                <td className="mono">{p.identity}</td>
                <td>{p.kind}</td>
                <td title={formatTime(p.lastAccessTime)}>{timeAgo(p.lastAccessTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
