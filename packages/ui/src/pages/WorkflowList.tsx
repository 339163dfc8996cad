// The workflow list: a filter bar that writes Temporal's list query (or a raw query), counts per
// status, keyset pagination with the server's page tokens, configurable columns and auto-refresh.
// Filters live in the URL so that a filtered list can be linked to and Back works.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api';
import { usePolling } from '../polling';
import { ErrorBox, StatusBadge, Pager, QueryBar, RefreshControls } from '../components/common';
import { formatDuration, formatTime, parseTime, STATUSES, statusName } from '../format';
import { decodePayload } from '../payloads';
import { Link, setSearch, workflowPath } from '../router';
import { buildQuery, RANGES, type Filters } from '../listQuery';
import type { WorkflowExecutionInfo } from '../types';
import { StartBatchDialog } from './BatchOperations';

const PAGE_SIZE = 50;
const COLUMNS = ['Status', 'Workflow ID', 'Run ID', 'Type', 'Start', 'End', 'Duration', 'Task queue', 'History'] as const;
type Column = (typeof COLUMNS)[number];
const DEFAULT_COLUMNS: readonly Column[] = ['Status', 'Workflow ID', 'Type', 'Start', 'End', 'Duration'];

function loadColumns(): Column[] {
  try {
    const saved = JSON.parse(localStorage.getItem('kairos.columns') ?? 'null') as unknown;
    if (Array.isArray(saved)) return COLUMNS.filter((c) => saved.includes(c));
  } catch {
    // a bad saved value: use the defaults
  }
  return [...DEFAULT_COLUMNS];
}

export function WorkflowList({ ns, search }: { ns: string; search: URLSearchParams }) {
  const filters: Filters = { status: search.get('status') ?? '', type: search.get('type') ?? '', id: search.get('id') ?? '', range: search.get('range') ?? '' };
  const rawMode = search.get('raw') === '1';
  const rawQuery = search.get('query') ?? '';
  const [tick, setTick] = useState(0);
  // Relative time ranges move once a minute, not on every render, so the query string stays stable.
  const minute = Math.floor(Date.now() / 60_000) * 60_000;
  const query = rawMode ? rawQuery : buildQuery(filters, true, minute);
  const countQuery = rawMode ? '' : buildQuery(filters, false, minute);

  const [tokens, setTokens] = useState<Array<string | undefined>>([undefined]);
  const [pageIndex, setPageIndex] = useState(0);
  const [rows, setRows] = useState<WorkflowExecutionInfo[] | undefined>();
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<unknown>();
  const [counts, setCounts] = useState<{ total: number; byStatus: Record<string, number> } | undefined>();
  const [autoRefresh, setAutoRefresh] = useState(search.get('refresh') !== 'off');
  const [columns, setColumns] = useState<Column[]>(loadColumns);
  const [batching, setBatching] = useState(false);

  // A new query starts again at the first page.
  useEffect(() => {
    setTokens([undefined]);
    setPageIndex(0);
  }, [query, ns]);

  const load = useCallback(
    async (signal: AbortSignal) => {
      try {
        const page = await api.listWorkflows(ns, query, PAGE_SIZE, tokens[pageIndex], signal);
        setRows(page.executions ?? []);
        setNext(page.nextPageToken || undefined);
        setError(undefined);
      } catch (err) {
        if (!signal.aborted) setError(err);
      }
      if (rawMode) return;
      try {
        const grouped = await api.countWorkflows(ns, `${countQuery} GROUP BY ExecutionStatus`.trim(), signal);
        const byStatus: Record<string, number> = {};
        let total = 0;
        for (const g of grouped.groups ?? []) {
          const d = decodePayload(g.groupValues?.[0]);
          const n = Number(g.count ?? 0);
          if (d.kind === 'json' && typeof d.value === 'string') byStatus[d.value] = n;
          total += n;
        }
        setCounts({ total, byStatus });
      } catch {
        if (!signal.aborted) setCounts(undefined);
      }
    },
    [ns, query, countQuery, tokens, pageIndex, rawMode, tick], // tick: the Refresh button
  );

  usePolling(load, autoRefresh);

  const toggleColumn = (c: Column) => {
    const nextColumns = columns.includes(c) ? columns.filter((x) => x !== c) : COLUMNS.filter((x) => x === c || columns.includes(x));
    setColumns(nextColumns);
    localStorage.setItem('kairos.columns', JSON.stringify(nextColumns));
  };

  return (
    <div className="page">
      <div className="page-head">
        <h2>Workflows</h2>
        <div className="head-actions">
          <RefreshControls autoRefresh={autoRefresh} setAutoRefresh={setAutoRefresh} refresh={() => setTick((t) => t + 1)} />
          <button onClick={() => setBatching(true)} title="Terminate, cancel or signal every running workflow of this filter">
            Batch…
          </button>
          <ColumnPicker columns={columns} toggle={toggleColumn} />
        </div>
      </div>

      {batching ? <StartBatchDialog ns={ns} query={rawMode ? rawQuery : countQuery} matching={rawMode ? undefined : counts?.byStatus['Running']} onClose={() => setBatching(false)} /> : null}

      {rawMode ? <RawQueryBar initial={rawQuery || buildQuery(filters)} /> : <FilterBar filters={filters} />}

      {!rawMode ? (
        <div className="status-counts" aria-label="Counts per status">
          <button className={filters.status === '' ? 'count-chip active' : 'count-chip'} onClick={() => setSearch({ status: undefined })}>
            All <b>{counts?.total ?? '–'}</b>
          </button>
          {STATUSES.map((s) => (
            <button key={s} className={`count-chip chip-${s} ${filters.status === s ? 'active' : ''}`} data-status={s} onClick={() => setSearch({ status: filters.status === s ? undefined : s })}>
              {s} <b>{counts?.byStatus[s] ?? 0}</b>
            </button>
          ))}
        </div>
      ) : null}

      <ErrorBox error={error} />
      <div className="table-wrap">
        <table className="table workflows">
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows?.map((w) => <WorkflowRow key={`${w.execution?.workflowId}/${w.execution?.runId}`} ns={ns} w={w} columns={columns} />)}
          </tbody>
        </table>
        {rows?.length === 0 ? <div className="empty">No workflows match {query ? <code>{query}</code> : 'yet'}.</div> : null}
        {rows === undefined && error === undefined ? <div className="empty">Loading…</div> : null}
      </div>
      <Pager pageIndex={pageIndex} next={next} tokens={tokens} setTokens={setTokens} setPageIndex={setPageIndex} />
    </div>
  );
}

function WorkflowRow({ ns, w, columns }: { ns: string; w: WorkflowExecutionInfo; columns: readonly Column[] }) {
  const id = w.execution?.workflowId ?? '';
  const runId = w.execution?.runId ?? '';
  const start = parseTime(w.startTime);
  const end = parseTime(w.closeTime);
  const cell = (c: Column) => {
    switch (c) {
      case 'Status':
        return <StatusBadge status={w.status} />;
      case 'Workflow ID':
        return (
          <Link to={workflowPath(ns, id, runId)} className="mono">
            {id}
          </Link>
        );
      case 'Run ID':
        return <span className="mono muted">{runId}</span>;
      case 'Type':
        return w.type?.name;
      case 'Start':
        return formatTime(w.startTime);
      case 'End':
        return formatTime(w.closeTime);
      case 'Duration':
        return start === undefined ? '' : formatDuration((end ?? Date.now()) - start);
      case 'Task queue':
        return w.taskQueue;
      case 'History':
        return w.historyLength;
    }
  };
  return (
    <tr data-workflow-id={id} className={`row-${statusName(w.status)}`}>
      {columns.map((c) => (
        <td key={c}>{cell(c)}</td>
      ))}
    </tr>
  );
}

function FilterBar({ filters }: { filters: Filters }) {
  const [type, setType] = useState(filters.type);
  const [id, setId] = useState(filters.id);
  useEffect(() => {
    setType(filters.type);
    setId(filters.id);
  }, [filters.type, filters.id]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSearch({ type: type.trim(), id: id.trim() });
  };
  return (
    <form className="filter-bar" onSubmit={submit}>
      <select aria-label="Status" value={filters.status} onChange={(e) => setSearch({ status: e.target.value })}>
        <option value="">All statuses</option>
        {STATUSES.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
      <input aria-label="Workflow type" placeholder="Workflow type" value={type} onChange={(e) => setType(e.target.value)} />
      <input aria-label="Workflow ID" placeholder="Workflow ID starts with" value={id} onChange={(e) => setId(e.target.value)} />
      <select aria-label="Time range" value={filters.range} onChange={(e) => setSearch({ range: e.target.value })}>
        {RANGES.map(([key, label]) => (
          <option key={key} value={key}>
            {label}
          </option>
        ))}
      </select>
      <button type="submit" className="primary">
        Apply
      </button>
      <button type="button" onClick={() => setSearch({ status: undefined, type: undefined, id: undefined, range: undefined })}>
        Clear
      </button>
      <button type="button" className="link-button" onClick={() => setSearch({ raw: '1', query: buildQuery(filters) })}>
        Raw query
      </button>
    </form>
  );
}

function RawQueryBar({ initial }: { initial: string }) {
  return (
    <QueryBar label="List query" placeholder="WorkflowType = 'order' AND ExecutionStatus = 'Running'" value={initial} onRun={(query) => setSearch({ raw: '1', query })}>
      <button type="button" className="link-button" onClick={() => setSearch({ raw: undefined, query: undefined })}>
        Back to filters
      </button>
    </QueryBar>
  );
}

function ColumnPicker({ columns, toggle }: { columns: readonly Column[]; toggle: (c: Column) => void }) {
  return (
    <details className="menu">
      <summary>Columns</summary>
      <div className="menu-body">
        {COLUMNS.map((c) => (
          <label key={c}>
            <input type="checkbox" checked={columns.includes(c)} onChange={() => toggle(c)} /> {c}
          </label>
        ))}
      </div>
    </details>
  );
}
