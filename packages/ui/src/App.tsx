// The shell: a top bar (namespace picker, sections, jump to a workflow id) and the page for the URL.
import { useEffect, useState, type FormEvent } from 'react';
import { api } from './api';
import { Link, matchPath, navigate, useLocation, workflowPath, enc } from './router';
import { WorkflowList } from './pages/WorkflowList';
import { WorkflowPage } from './pages/WorkflowPage';
import { Namespaces } from './pages/Namespaces';
import { TaskQueues } from './pages/TaskQueues';
import { ImportHistory } from './pages/ImportHistory';
import { ScheduleList } from './pages/ScheduleList';
import { SchedulePage } from './pages/SchedulePage';
import { BatchList, BatchPage } from './pages/BatchOperations';
import { WorkerList, WorkerPage } from './pages/Workers';

export function App() {
  const { path, search } = useLocation();
  const nsMatch = matchPath('/namespaces/:ns/:section?/:rest?/:more?', path);
  const ns = nsMatch?.['ns'] ?? 'default';
  const section = nsMatch?.['section'] ?? (path.startsWith('/namespaces') ? 'namespaces' : path.slice(1).split('/')[0]);

  useEffect(() => {
    if (path === '/' || path === '') navigate('/namespaces/default/workflows', { replace: true });
  }, [path]);

  let page;
  let m: Record<string, string> | undefined;
  if ((m = matchPath('/namespaces/:ns/workflows/:id/:runId?', path))) {
    page = <WorkflowPage key={`${m['ns']}/${m['id']}/${m['runId'] ?? ''}`} ns={m['ns'] ?? ns} workflowId={m['id'] ?? ''} runId={m['runId']} search={search} />;
  } else if ((m = matchPath('/namespaces/:ns/workflows', path))) {
    page = <WorkflowList ns={m['ns'] ?? ns} search={search} />;
  } else if ((m = matchPath('/namespaces/:ns/schedules/:id', path))) {
    page = <SchedulePage key={`${m['ns']}/${m['id']}`} ns={m['ns'] ?? ns} scheduleId={m['id'] ?? ''} />;
  } else if ((m = matchPath('/namespaces/:ns/schedules', path))) {
    page = <ScheduleList ns={m['ns'] ?? ns} search={search} />;
  } else if ((m = matchPath('/namespaces/:ns/batch-operations/:id', path))) {
    page = <BatchPage key={`${m['ns']}/${m['id']}`} ns={m['ns'] ?? ns} jobId={m['id'] ?? ''} />;
  } else if ((m = matchPath('/namespaces/:ns/batch-operations', path))) {
    page = <BatchList ns={m['ns'] ?? ns} />;
  } else if ((m = matchPath('/namespaces/:ns/workers/:key', path))) {
    page = <WorkerPage key={`${m['ns']}/${m['key']}`} ns={m['ns'] ?? ns} workerKey={m['key'] ?? ''} />;
  } else if ((m = matchPath('/namespaces/:ns/workers', path))) {
    page = <WorkerList ns={m['ns'] ?? ns} search={search} />;
  } else if ((m = matchPath('/namespaces/:ns/task-queues/:name?', path))) {
    page = <TaskQueues ns={m['ns'] ?? ns} name={m['name']} />;
  } else if (path === '/namespaces') {
    page = <Namespaces />;
  } else if (path === '/import') {
    page = <ImportHistory />;
  } else {
    page = (
      <div className="page">
        <h2>Not found</h2>
        <p>
          Nothing lives at <code>{path}</code>. <Link to={`/namespaces/${enc(ns)}/workflows`}>Go to the workflows</Link>.
        </p>
      </div>
    );
  }

  return (
    <div className="app">
      <header className="topbar">
        <Link to={`/namespaces/${enc(ns)}/workflows`} className="brand">
          <span className="logo">K</span> Kairos
        </Link>
        <NamespacePicker ns={ns} />
        <nav className="nav">
          <Link to={`/namespaces/${enc(ns)}/workflows`} className={section === 'workflows' ? 'active' : ''}>
            Workflows
          </Link>
          <Link to={`/namespaces/${enc(ns)}/schedules`} className={section === 'schedules' ? 'active' : ''}>
            Schedules
          </Link>
          <Link to={`/namespaces/${enc(ns)}/batch-operations`} className={section === 'batch-operations' ? 'active' : ''}>
            Batch
          </Link>
          <Link to={`/namespaces/${enc(ns)}/task-queues`} className={section === 'task-queues' ? 'active' : ''}>
            Task queues
          </Link>
          <Link to={`/namespaces/${enc(ns)}/workers`} className={section === 'workers' ? 'active' : ''}>
            Workers
          </Link>
          <Link to="/namespaces" className={section === 'namespaces' ? 'active' : ''}>
            Namespaces
          </Link>
          <Link to="/import" className={section === 'import' ? 'active' : ''}>
            Import history
          </Link>
        </nav>
        <JumpToWorkflow ns={ns} />
      </header>
      <main>{page}</main>
    </div>
  );
}

function NamespacePicker({ ns }: { ns: string }) {
  const [names, setNames] = useState<string[]>([ns]);
  useEffect(() => {
    api.listNamespaces().then(
      (r) => setNames(r.namespaces.map((n) => n.namespaceInfo?.name ?? '').filter(Boolean)),
      () => undefined, // the picker keeps the current namespace; pages show their own errors
    );
  }, []);
  return (
    <select
      className="ns-picker"
      aria-label="Namespace"
      value={ns}
      onChange={(e) => navigate(`/namespaces/${enc(e.target.value)}/workflows`)}
    >
      {(names.includes(ns) ? names : [ns, ...names]).map((n) => (
        <option key={n} value={n}>
          {n}
        </option>
      ))}
    </select>
  );
}

/** Paste a workflow id (or a `workflowId/runId` pair) and go straight to it. */
function JumpToWorkflow({ ns }: { ns: string }) {
  const [value, setValue] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const text = value.trim();
    if (text === '') return;
    const [id, runId] = /^(.+)\/([0-9a-f-]{36})$/i.test(text) ? [text.replace(/\/[^/]+$/, ''), text.split('/').pop()] : [text, undefined];
    navigate(workflowPath(ns, id ?? text, runId));
    setValue('');
  };
  return (
    <form className="jump" onSubmit={submit}>
      <input aria-label="Jump to workflow id" placeholder="Jump to workflow id…" value={value} onChange={(e) => setValue(e.target.value)} />
    </form>
  );
}
