// The timeline (a Gantt chart) of a run's activities, timers and child workflows, from each one's
// first event to its last; still-open ones run to now. Rows are virtualised like the history.
import { useMemo, useRef } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { formatDuration, formatTime, parseTime } from '../format';
import type { Span } from '../history';
import type { HistoryEvent } from '../types';

const ROW_HEIGHT = 30;

export function Timeline({ spans, events }: { spans: readonly Span[]; events: readonly HistoryEvent[] }) {
  const now = Date.now();
  const { t0, t1 } = useMemo(() => {
    const first = parseTime(events[0]?.eventTime) ?? now;
    let last = parseTime(events[events.length - 1]?.eventTime) ?? now;
    if (spans.some((s) => s.end === undefined)) last = Math.max(last, now);
    return { t0: first, t1: Math.max(last, first + 1) };
  }, [spans, events, now]);
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: spans.length, getScrollElement: () => scrollRef.current, estimateSize: () => ROW_HEIGHT, overscan: 20 });
  const pct = (t: number) => `${(((t - t0) / (t1 - t0)) * 100).toFixed(3)}%`;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => t0 + f * (t1 - t0));

  if (spans.length === 0) return <div className="empty">No activities, timers or child workflows in this history.</div>;
  return (
    <div className="timeline">
      <div className="timeline-axis">
        <div className="timeline-label" />
        <div className="timeline-track">
          {ticks.map((t, i) => (
            <span key={i} className="tick" style={{ left: pct(t) }}>
              {i === 0 ? formatTime(t).slice(11) : `+${formatDuration(t - t0)}`}
            </span>
          ))}
        </div>
      </div>
      <div className="timeline-scroll" ref={scrollRef}>
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((item) => {
            const s = spans[item.index];
            if (s === undefined) return null;
            const end = s.end ?? now;
            return (
              <div key={item.key} className="timeline-row" style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}>
                <div className="timeline-label" title={`${s.label} (${s.state})`}>
                  <span className={`dot cat-${s.category}`} /> {s.label}
                </div>
                <div className="timeline-track">
                  <div
                    className={`bar cat-${s.category} ${s.failed ? 'failed' : ''} ${s.end === undefined ? 'open' : ''}`}
                    style={{ left: pct(s.start), width: `max(3px, ${(((end - s.start) / (t1 - t0)) * 100).toFixed(3)}%)` }}
                    title={`${s.label}: ${s.state}, ${formatDuration(end - s.start)}`}
                  />
                  <span className="bar-text" style={{ left: pct(end) }}>
                    {formatDuration(end - s.start)} · {s.state}
                  </span>
                </div>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
