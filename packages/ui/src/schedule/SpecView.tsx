// The spec as the server keeps it: one row per structured calendar (each field as written, `*` for
// every value), the intervals, what is excluded, and the proto3 JSON behind a toggle.
import { JsonBlock } from '../components/common';
import { durationMs } from '../format';
import { describeCalendar, describeInterval, durationWords, rangesText, type Field } from './spec';
import type { ScheduleSpec, StructuredCalendarSpec } from './types';

const COLUMNS: ReadonlyArray<readonly [Field | 'year', string]> = [
  ['second', 'Second'],
  ['minute', 'Minute'],
  ['hour', 'Hour'],
  ['dayOfMonth', 'Day of month'],
  ['month', 'Month'],
  ['dayOfWeek', 'Day of week'],
  ['year', 'Year'],
];

export function SpecView({ spec }: { spec: ScheduleSpec }) {
  const calendars = spec.structuredCalendar ?? [];
  const excluded = spec.excludeStructuredCalendar ?? [];
  const intervals = spec.interval ?? [];
  const written = [...(spec.cronString ?? []).map((c) => `cron "${c}"`), ...(spec.calendar ?? []).map((c) => `calendar ${JSON.stringify(c)}`)];
  return (
    <section className="card" data-testid="schedule-spec-detail">
      <div className="card-head">
        <b>Spec</b>
        <span className="muted">times in {spec.timezoneName || 'UTC'}</span>
      </div>
      {calendars.length > 0 ? <CalendarTable title="Calendars" calendars={calendars} /> : null}
      {intervals.length > 0 ? (
        <div className="spec-intervals">
          <h4>Intervals</h4>
          {intervals.map((i, n) => (
            <div key={n}>
              {describeInterval(i)}{' '}
              <span className="muted mono">
                (interval {i.interval ?? '0s'}
                {durationMs(i.phase) ? `, phase ${i.phase ?? ''}` : ''})
              </span>
            </div>
          ))}
        </div>
      ) : null}
      {written.length > 0 ? (
        <div>
          <h4>As written</h4>
          {written.map((w) => (
            <div key={w} className="mono">
              {w}
            </div>
          ))}
        </div>
      ) : null}
      {excluded.length > 0 ? <CalendarTable title="Except" calendars={excluded} /> : null}
      {spec.jitter && durationMs(spec.jitter) ? <div className="muted">Each run starts up to {durationWords(durationMs(spec.jitter))} late (jitter).</div> : null}
      <details style={{ marginTop: 10 }}>
        <summary className="muted">JSON</summary>
        <JsonBlock value={spec} />
      </details>
    </section>
  );
}

function CalendarTable({ title, calendars }: { title: string; calendars: readonly StructuredCalendarSpec[] }) {
  const commented = calendars.some((c) => c.comment);
  return (
    <div style={{ marginBottom: 10 }}>
      <h4>{title}</h4>
      <table className="table calendar-table">
        <thead>
          <tr>
            {COLUMNS.map(([key, label]) => (
              <th key={key}>{label}</th>
            ))}
            <th>In words</th>
            {commented ? <th>Comment</th> : null}
          </tr>
        </thead>
        <tbody>
          {calendars.map((c, n) => (
            <tr key={n}>
              {COLUMNS.map(([key]) => (
                <td key={key} className="mono">
                  {rangesText(c[key], key)}
                </td>
              ))}
              <td>{describeCalendar(c)}</td>
              {commented ? <td>{c.comment}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
