// Display helpers: times, durations, status and event names.

export function parseTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export function formatTime(value: string | number | undefined): string {
  const ms = typeof value === 'number' ? value : parseTime(value);
  if (ms === undefined) return '';
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A proto3 JSON duration ("12.5s") in milliseconds. */
export function durationMs(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^(-?\d+(?:\.\d+)?)s$/.exec(value);
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1000;
}

export function timeAgo(value: string | undefined, now = Date.now()): string {
  const ms = parseTime(value);
  return ms === undefined ? '' : `${formatDuration(now - ms)} ago`;
}

/** `WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW` -> `ContinuedAsNew` (the query language's names). */
export function statusName(status: string | undefined): string {
  return pascal((status ?? 'WORKFLOW_EXECUTION_STATUS_UNSPECIFIED').replace('WORKFLOW_EXECUTION_STATUS_', ''));
}

/** `EVENT_TYPE_ACTIVITY_TASK_SCHEDULED` -> `ActivityTaskScheduled`. */
export function eventName(type: string | undefined): string {
  return pascal((type ?? '').replace('EVENT_TYPE_', ''));
}

function pascal(snake: string): string {
  return snake
    .toLowerCase()
    .split('_')
    .map((w) => (w === '' ? '' : w[0]?.toUpperCase() + w.slice(1)))
    .join('');
}

export const STATUSES = ['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'ContinuedAsNew', 'TimedOut'] as const;

/** A compact one-line preview of a JSON value. */
export function preview(value: unknown, max = 120): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
