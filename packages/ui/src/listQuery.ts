// The list query the filter bar writes, in Temporal's visibility query language.

export const RANGES: ReadonlyArray<readonly [key: string, label: string, ms: number]> = [
  ['', 'Any time', 0],
  ['15m', 'Last 15 minutes', 15 * 60_000],
  ['1h', 'Last hour', 3_600_000],
  ['24h', 'Last 24 hours', 86_400_000],
  ['7d', 'Last 7 days', 7 * 86_400_000],
  ['30d', 'Last 30 days', 30 * 86_400_000],
];

// Single-quoted with backslash escapes, as the server's tokenizer reads string literals.
/** A query's string literal (backslash escapes, as the server's parser reads them). */
export const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export interface Filters {
  readonly status: string;
  readonly type: string;
  readonly id: string;
  readonly range: string;
}

/** The list query for the filter bar; `withStatus` false leaves the status out (for the counts). */
export function buildQuery(f: Filters, withStatus = true, now = Date.now()): string {
  const parts: string[] = [];
  if (withStatus && f.status) parts.push(`ExecutionStatus = ${quote(f.status)}`);
  if (f.type) parts.push(`WorkflowType = ${quote(f.type)}`);
  if (f.id) parts.push(`WorkflowId STARTS_WITH ${quote(f.id)}`);
  const range = RANGES.find((r) => r[0] === f.range);
  if (range && range[2] > 0) parts.push(`StartTime > ${quote(new Date(now - range[2]).toISOString())}`);
  return parts.join(' AND ');
}

