// Opens a history exported as JSON (from this UI, `temporal workflow show -o json` or `kairos
// workflow show -o json`) in the same views as a live run, without a server round trip.
import { useMemo, useState } from 'react';
import { ErrorBox, Tabs } from '../components/common';
import { groupEvents, timelineSpans } from '../history';
import type { HistoryEvent } from '../types';
import { HistoryView, type HistoryMode } from '../workflow/HistoryView';
import { Timeline } from '../workflow/Timeline';
import { parseHistoryJson } from '../workflow/exportHistory';

export function ImportHistory() {
  const [events, setEvents] = useState<HistoryEvent[]>();
  const [fileName, setFileName] = useState('');
  const [error, setError] = useState<unknown>();
  const [mode, setMode] = useState<HistoryMode>('compact');
  const [tab, setTab] = useState<'history' | 'timeline'>('history');
  const groups = useMemo(() => groupEvents(events ?? []), [events]);
  const spans = useMemo(() => timelineSpans(groups), [groups]);
  const onFile = (file: File | undefined) => {
    if (!file) return;
    setFileName(file.name);
    file.text().then(
      (text) => {
        setEvents(parseHistoryJson(text));
        setError(undefined);
      },
      (err: unknown) => setError(err),
    ).catch((err: unknown) => setError(err));
  };
  return (
    <div className="page">
      <div className="page-head">
        <h2>Import a history</h2>
        <label className="file-button">
          Choose a JSON file…
          <input type="file" accept="application/json,.json" aria-label="History JSON file" onChange={(e) => onFile(e.target.files?.[0])} />
        </label>
      </div>
      <p className="muted">
        A history as JSON: exported from a workflow page here, or written by <code>temporal workflow show -o json</code>. It is read in the browser and never sent to the server.
      </p>
      <ErrorBox error={error} />
      {events !== undefined ? (
        <>
          <h3 className="mono">{fileName}</h3>
          <Tabs
            tabs={[
              ['history', 'History'],
              ['timeline', `Timeline (${spans.length})`],
            ]}
            value={tab}
            onChange={setTab}
          />
          {tab === 'history' ? <HistoryView events={events} groups={groups} mode={mode} onMode={setMode} loading={false} /> : <Timeline spans={spans} events={events} />}
        </>
      ) : null}
    </div>
  );
}
