// Batch jobs (docs/batch.md): the namespace's jobs, one job's progress with a Stop button, and the
// dialog that starts a job over the workflows a list query matches (from the workflow list).
import { useCallback, useState } from 'react';
import { api } from '../api';
import { FormDialog } from '../components/Dialog';
import { ErrorBox, Field } from '../components/common';
import { formatTime } from '../format';
import { parseArgs } from '../payloads';
import { usePolling } from '../polling';
import { Link, enc, navigate } from '../router';
import type { BatchJob, BatchJobInfo } from '../types';

const batchesPath = (ns: string) => `/namespaces/${enc(ns)}/batch-operations`;
const batchPath = (ns: string, jobId: string) => `${batchesPath(ns)}/${enc(jobId)}`;

/** "BATCH_OPERATION_TYPE_TERMINATE_WORKFLOW" -> "Terminate workflow", "BATCH_OPERATION_STATE_RUNNING" -> "Running". */
function words(value: string | undefined, prefix: string): string {
  const text = (value ?? '').replace(prefix, '').toLowerCase().replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
const stateOf = (job: BatchJobInfo) => words(job.state, 'BATCH_OPERATION_STATE_');
const typeOf = (job: BatchJobInfo) => words(job.operationType, 'BATCH_OPERATION_TYPE_');
const STATE_CLASS: Record<string, string> = { Running: 'Running', Completed: 'Completed', Failed: 'Failed' };

function StateBadge({ job }: { job: BatchJobInfo }) {
  const state = stateOf(job);
  return <span className={`badge status-${STATE_CLASS[state] ?? ''}`}>{state}</span>;
}

export function BatchList({ ns }: { ns: string }) {
  const [jobs, setJobs] = useState<BatchJobInfo[]>();
  const [error, setError] = useState<unknown>();
  const load = useCallback(
    async (signal: AbortSignal) => {
      try {
        const page = await api.listBatches(ns, undefined, signal);
        setJobs(page.operationInfo ?? []);
        setError(undefined);
      } catch (err) {
        if (!signal.aborted) setError(err);
      }
    },
    [ns],
  );
  usePolling(load, true);
  return (
    <div className="page">
      <div className="page-head">
        <h2>Batch operations</h2>
      </div>
      <p className="muted">Jobs that terminate, cancel, signal, reset or delete every workflow a query matches. Start one from the workflow list (Batch…).</p>
      <ErrorBox error={error} />
      <div className="table-wrap">
        <table className="table batches">
          <thead>
            <tr>
              <th>State</th>
              <th>Job ID</th>
              <th>Operation</th>
              <th>Start</th>
              <th>End</th>
            </tr>
          </thead>
          <tbody>
            {jobs?.map((job) => (
              <tr key={job.jobId} data-job-id={job.jobId}>
                <td>
                  <StateBadge job={job} />
                </td>
                <td>
                  <Link to={batchPath(ns, job.jobId ?? '')} className="mono">
                    {job.jobId}
                  </Link>
                </td>
                <td>{typeOf(job)}</td>
                <td>{formatTime(job.startTime)}</td>
                <td>{formatTime(job.closeTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {jobs?.length === 0 ? <div className="empty">No batch operations in this namespace yet.</div> : null}
      </div>
    </div>
  );
}

export function BatchPage({ ns, jobId }: { ns: string; jobId: string }) {
  const [job, setJob] = useState<BatchJob>();
  const [error, setError] = useState<unknown>();
  const [stopping, setStopping] = useState(false);
  const [tick, setTick] = useState(0);
  const load = useCallback(
    async (signal: AbortSignal) => {
      try {
        setJob(await api.describeBatch(ns, jobId, signal));
        setError(undefined);
      } catch (err) {
        if (!signal.aborted) setError(err);
      }
    },
    [ns, jobId, tick],
  );
  const running = job?.state === 'BATCH_OPERATION_STATE_RUNNING';
  usePolling(load, job === undefined || running, 1000);
  const total = Number(job?.totalOperationCount ?? 0);
  const done = Number(job?.completeOperationCount ?? 0);
  const failed = Number(job?.failureOperationCount ?? 0);
  const percent = total > 0 ? Math.min(100, Math.round(((done + failed) / total) * 100)) : running ? 0 : 100;
  return (
    <div className="page">
      <div className="page-head">
        <h2>
          Batch operation <span className="mono">{jobId}</span>
        </h2>
        <div className="head-actions">
          <Link to={batchesPath(ns)}>All batch operations</Link>
          <button className="danger" disabled={!running} onClick={() => setStopping(true)}>
            Stop
          </button>
        </div>
      </div>
      <ErrorBox error={error} />
      {job ? (
        <>
          <div className="summary-grid">
            <Field label="State">
              <StateBadge job={job} />
            </Field>
            <Field label="Operation">{typeOf(job)}</Field>
            <Field label="Reason">{job.reason}</Field>
            <Field label="Identity">{job.identity || '–'}</Field>
            <Field label="Start">{formatTime(job.startTime)}</Field>
            <Field label="End">{formatTime(job.closeTime) || '–'}</Field>
            <Field label={job.query ? 'Query' : 'Workflows'}>
              <span className="mono">{job.query || (job.executions ?? []).map((e) => e.businessId).join(', ')}</span>
            </Field>
          </div>
          <div className="batch-progress" aria-label="Progress">
            <div className="batch-bar">
              <div className="batch-bar-fill" style={{ width: `${percent}%` }} />
            </div>
            <span>
              <b data-count="total">{total}</b> targets · <b data-count="completed">{done}</b> done · <b data-count="failed">{failed}</b> failed
            </span>
          </div>
          <p className="muted">Counts move a page (up to 1,000 workflows) at a time while the job runs.</p>
          <p>
            <Link to={`/namespaces/${enc(ns)}/workflows/${enc(jobId)}`}>The job&apos;s own workflow</Link>
          </p>
        </>
      ) : null}
      {stopping ? (
        <StopDialog
          onClose={() => setStopping(false)}
          onStop={(reason) =>
            api.stopBatch(ns, jobId, reason).then(() => {
              setStopping(false);
              setTick((t) => t + 1);
            })
          }
        />
      ) : null}
    </div>
  );
}

function StopDialog({ onClose, onStop }: { onClose: () => void; onStop: (reason: string) => Promise<unknown> }) {
  const [reason, setReason] = useState('');
  return (
    <FormDialog title="Stop batch operation" verb="Stop" danger onClose={onClose} onSubmit={() => onStop(reason.trim() || 'stopped from the Kairos UI')}>
      <p>The job stops where it is: what it already did stays done.</p>
      <label>
        Reason
        <input aria-label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} placeholder="Why" autoFocus />
      </label>
    </FormDialog>
  );
}

type BatchKind = 'terminate' | 'cancel' | 'signal';

/** Starts a job over the workflows `query` matches (the list's current filter). */
export function StartBatchDialog({ ns, query, matching, onClose }: { ns: string; query: string; matching: number | undefined; onClose: () => void }) {
  const [kind, setKind] = useState<BatchKind>('terminate');
  const [reason, setReason] = useState('');
  const [signalName, setSignalName] = useState('');
  const [input, setInput] = useState('');
  // An empty filter means every workflow; terminate, cancel and signal reach running ones only anyway.
  const visibilityQuery = query.trim() || "ExecutionStatus = 'Running'";
  const submit = async () => {
    const jobId = crypto.randomUUID();
    const operation =
      kind === 'terminate'
        ? { terminationOperation: { identity: 'kairos-ui' } }
        : kind === 'cancel'
          ? { cancellationOperation: { identity: 'kairos-ui' } }
          : { signalOperation: { signal: signalName.trim(), input: parseArgs(input), identity: 'kairos-ui' } };
    await api.startBatch(ns, jobId, reason.trim() || `${kind} from the Kairos UI`, visibilityQuery, operation);
    onClose();
    navigate(batchPath(ns, jobId));
  };
  return (
    <FormDialog title="Batch operation" verb="Start" danger={kind === 'terminate'} onClose={onClose} onSubmit={submit}>
      <p>
        Applies to the running workflows of <code className="mono">{visibilityQuery}</code>
        {matching === undefined ? '' : ` (${matching} now)`}, as a job on the server: it goes on if you close this page.
      </p>
      <label>
        Operation
        <select aria-label="Operation" value={kind} onChange={(e) => setKind(e.target.value as BatchKind)}>
          <option value="terminate">Terminate</option>
          <option value="cancel">Request cancellation</option>
          <option value="signal">Signal</option>
        </select>
      </label>
      {kind === 'signal' ? (
        <>
          <label>
            Signal name
            <input aria-label="Signal name" value={signalName} onChange={(e) => setSignalName(e.target.value)} required />
          </label>
          <label>
            Input (JSON, optional)
            <textarea aria-label="Signal input" className="mono" rows={3} value={input} onChange={(e) => setInput(e.target.value)} />
          </label>
        </>
      ) : null}
      <label>
        Reason
        <input aria-label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} placeholder="Why (recorded on the job)" />
      </label>
    </FormDialog>
  );
}
