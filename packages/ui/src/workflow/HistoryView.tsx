// The event history in three views, all virtualised (only the rows in sight are in the DOM, so a
// 50,000-event history scrolls as smoothly as a short one): compact (one row per activity, timer,
// child, signal...), full (every event) and JSON (one event per line). A click opens the detail.
import { useMemo, useRef, useState, type CSSProperties } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { JsonBlock, Tabs } from '../components/common';
import { eventName, formatDuration, formatTime, parseTime } from '../format';
import { attributesOf, categoryOf, eventSummary, type EventGroup } from '../history';
import type { HistoryEvent } from '../types';
import { forDisplay } from './display';

export type HistoryMode = 'compact' | 'full' | 'json';
const ROW_HEIGHT = 34;

type Selection = { kind: 'event'; index: number } | { kind: 'group'; index: number } | undefined;

export function HistoryView({
  events,
  groups,
  mode,
  onMode,
  loading,
}: {
  events: readonly HistoryEvent[];
  groups: readonly EventGroup[];
  mode: HistoryMode;
  onMode: (m: HistoryMode) => void;
  loading: boolean;
}) {
  const [selection, setSelection] = useState<Selection>();
  const [filter, setFilter] = useState('');
  const [reverse, setReverse] = useState(false);
  // Filtering keeps indexes into `events`/`groups`, so the virtualiser only ever sees numbers.
  const rows = useMemo(() => {
    const count = mode === 'compact' ? groups.length : events.length;
    const needle = filter.trim().toLowerCase();
    let indexes: number[] = Array.from({ length: count }, (_, i) => i);
    if (needle !== '') {
      indexes = indexes.filter((i) => {
        if (mode === 'compact') {
          const g = groups[i];
          const first = g?.events[0];
          return g !== undefined && first !== undefined && `${g.label} ${g.category} ${eventName(g.events[g.events.length - 1]?.eventType)} ${eventSummary(first)}`.toLowerCase().includes(needle);
        }
        const e = events[i];
        return e !== undefined && `${e.eventId} ${eventName(e.eventType)} ${eventSummary(e)}`.toLowerCase().includes(needle);
      });
    }
    return reverse ? indexes.reverse() : indexes;
  }, [events, groups, mode, filter, reverse]);

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scrollRef.current, estimateSize: () => ROW_HEIGHT, overscan: 15 });

  return (
    <div className="history">
      <div className="history-toolbar">
        <Tabs
          tabs={[
            ['compact', 'Compact'],
            ['full', 'Full'],
            ['json', 'JSON'],
          ]}
          value={mode}
          onChange={(m) => {
            setSelection(undefined);
            onMode(m);
          }}
        />
        <input className="history-filter" aria-label="Filter events" placeholder="Filter events…" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <label className="toggle">
          <input type="checkbox" checked={reverse} onChange={(e) => setReverse(e.target.checked)} /> Newest first
        </label>
        <span className="muted history-count" data-testid="event-count">
          {events.length.toLocaleString()} events{loading ? ' (loading…)' : ''}
        </span>
      </div>
      <div className="history-body">
        <div className="history-scroll" ref={scrollRef} data-testid="history-scroll">
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {virtualizer.getVirtualItems().map((item) => {
              const index = rows[item.index] ?? 0;
              const style = { transform: `translateY(${item.start}px)`, height: ROW_HEIGHT };
              if (mode === 'compact') {
                const g = groups[index];
                if (g === undefined) return null;
                const selected = selection?.kind === 'group' && selection.index === index;
                return <GroupRow key={item.key} group={g} style={style} selected={selected} onClick={() => setSelection({ kind: 'group', index })} />;
              }
              const e = events[index];
              if (e === undefined) return null;
              const selected = selection?.kind === 'event' && selection.index === index;
              return mode === 'json' ? (
                <div key={item.key} className={`event-row json-row ${selected ? 'selected' : ''}`} style={style} onClick={() => setSelection({ kind: 'event', index })}>
                  <span className="mono">{JSON.stringify(e).slice(0, 400)}</span>
                </div>
              ) : (
                <EventRow key={item.key} event={e} style={style} selected={selected} onClick={() => setSelection({ kind: 'event', index })} />
              );
            })}
          </div>
        </div>
        {selection !== undefined ? <Detail selection={selection} events={events} groups={groups} onClose={() => setSelection(undefined)} /> : null}
      </div>
    </div>
  );
}

function EventRow({ event, style, selected, onClick }: { event: HistoryEvent; style: CSSProperties; selected: boolean; onClick: () => void }) {
  const category = categoryOf(event.eventType);
  return (
    <div className={`event-row ${selected ? 'selected' : ''}`} style={style} onClick={onClick} data-event-id={event.eventId}>
      <span className="event-id mono">{event.eventId}</span>
      <span className="event-time mono">{formatTime(event.eventTime)}</span>
      <span className={`event-type cat-${category}`}>{eventName(event.eventType)}</span>
      <span className="event-summary">{eventSummary(event)}</span>
    </div>
  );
}

function GroupRow({ group, style, selected, onClick }: { group: EventGroup; style: CSSProperties; selected: boolean; onClick: () => void }) {
  const first = group.events[0];
  const last = group.events[group.events.length - 1];
  const start = parseTime(first?.eventTime);
  const end = parseTime(last?.eventTime);
  const bare = group.events.length === 1 && (group.category === 'workflow' || group.label === eventName(first?.eventType));
  return (
    <div className={`event-row ${selected ? 'selected' : ''}`} style={style} onClick={onClick}>
      <span className="event-id mono">{group.id}</span>
      <span className="event-time mono">{formatTime(first?.eventTime)}</span>
      <span className={`event-type cat-${group.category}`}>{eventName(last?.eventType)}</span>
      <span className="event-summary">
        {/* A lone event whose label is just its type (started, completed, ...) shows its summary only. */}
        {bare ? null : <b>{group.label}</b>}
        {group.events.length > 1 && start !== undefined && end !== undefined ? <span className="muted"> · {formatDuration(end - start)}</span> : null}
        {first && group.events.length === 1 ? <span className="muted">{bare ? '' : ' · '}{eventSummary(first)}</span> : null}
      </span>
    </div>
  );
}

function Detail({ selection, events, groups, onClose }: { selection: NonNullable<Selection>; events: readonly HistoryEvent[]; groups: readonly EventGroup[]; onClose: () => void }) {
  const shown = selection.kind === 'event' ? [events[selection.index]] : (groups[selection.index]?.events ?? []);
  return (
    <aside className="detail" aria-label="Event detail">
      <div className="detail-head">
        <b>{selection.kind === 'group' ? groups[selection.index]?.label : `Event ${shown[0]?.eventId ?? ''}`}</b>
        <button className="icon-button" aria-label="Close detail" onClick={onClose}>
          ×
        </button>
      </div>
      {shown.map((e) =>
        e === undefined ? null : (
          <div key={e.eventId} className="detail-event">
            <div className="detail-title">
              <span className={`event-type cat-${categoryOf(e.eventType)}`}>{eventName(e.eventType)}</span>
              <span className="muted mono">
                #{e.eventId} · {formatTime(e.eventTime)}
              </span>
            </div>
            <JsonBlock value={forDisplay(attributesOf(e))} />
          </div>
        ),
      )}
    </aside>
  );
}
