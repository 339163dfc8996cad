// Queries, including the call stack (the `__stack_trace` query every SDK answers). A query needs a
// worker to replay the workflow, so the task queue's pollers are checked first: with none, the UI
// says so at once instead of waiting for the query to time out.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiError } from '../api';
import { ErrorBox, JsonBlock } from '../components/common';
import { parseArgs, payloadValues } from '../payloads';

const QUERY_TIMEOUT_MS = 10_000;

async function runQuery(ns: string, id: string, runId: string | undefined, taskQueue: string, queryType: string, argsText: string): Promise<unknown> {
  const queue = await api.describeTaskQueue(ns, taskQueue, 'TASK_QUEUE_TYPE_WORKFLOW');
  if ((queue.pollers ?? []).length === 0) {
    throw new Error(`No worker is polling task queue "${taskQueue}", so nobody can answer the query. Start a worker for this task queue and try again.`);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), QUERY_TIMEOUT_MS);
  try {
    const answer = await api.query(ns, id, runId, queryType, parseArgs(argsText), controller.signal);
    if (answer.queryRejected) throw new Error(`The query was rejected (workflow status ${answer.queryRejected.status ?? 'unknown'}).`);
    const values = payloadValues(answer.queryResult);
    return values.length === 1 ? values[0] : values;
  } catch (err) {
    if (controller.signal.aborted) throw new Error(`No answer within ${QUERY_TIMEOUT_MS / 1000} s: is the worker for "${taskQueue}" busy or stuck?`);
    if (err instanceof ApiError && err.status === 504) throw new Error(`No worker answered the query: is a worker polling "${taskQueue}"?`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

export function StackTrace({ ns, id, runId, taskQueue }: { ns: string; id: string; runId: string | undefined; taskQueue: string }) {
  const [stack, setStack] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(false);
  const load = useCallback(() => {
    setLoading(true);
    runQuery(ns, id, runId, taskQueue, '__stack_trace', '')
      .then((value) => {
        setStack(typeof value === 'string' ? value : JSON.stringify(value, null, 2));
        setError(undefined);
      })
      .catch((err: unknown) => setError(err))
      .finally(() => setLoading(false));
  }, [ns, id, runId, taskQueue]);
  useEffect(load, [load]);
  return (
    <div className="panel" data-testid="stack-trace">
      <div className="panel-actions">
        <button onClick={load} disabled={loading}>
          {loading ? 'Asking the worker…' : 'Refresh'}
        </button>
      </div>
      <ErrorBox error={error} />
      {stack !== undefined && error === undefined ? <pre className="stack big">{stack || '(empty stack: the workflow is not blocked)'}</pre> : null}
    </div>
  );
}

export function QueryPanel({ ns, id, runId, taskQueue }: { ns: string; id: string; runId: string | undefined; taskQueue: string }) {
  const [queryType, setQueryType] = useState('');
  const [args, setArgs] = useState('');
  const [result, setResult] = useState<{ value: unknown } | undefined>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setLoading(true);
    setResult(undefined);
    runQuery(ns, id, runId, taskQueue, queryType.trim(), args)
      .then((value) => {
        setResult({ value });
        setError(undefined);
      })
      .catch((err: unknown) => setError(err))
      .finally(() => setLoading(false));
  };
  return (
    <div className="panel">
      <form className="form-row" onSubmit={submit}>
        <input aria-label="Query type" placeholder="Query name" value={queryType} onChange={(e) => setQueryType(e.target.value)} required />
        <input aria-label="Query argument" className="grow mono" placeholder='Argument as JSON (optional), e.g. {"verbose": true}' value={args} onChange={(e) => setArgs(e.target.value)} />
        <button type="submit" className="primary" disabled={loading}>
          {loading ? 'Querying…' : 'Query'}
        </button>
      </form>
      <ErrorBox error={error} />
      {result !== undefined ? <JsonBlock value={result.value} /> : null}
    </div>
  );
}
