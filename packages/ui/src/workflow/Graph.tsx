// A graph of the run built from its history: the workflow in the middle, the signals it received on
// the left, and on the right what it called: one node per activity type (with how many ran, failed,
// are still open), its timers, and each child workflow (a link to it).
import { useMemo } from 'react';
import { eventName } from '../format';
import { attributesOf, type Category, type EventGroup } from '../history';
import { navigate, workflowPath } from '../router';

interface Node {
  readonly key: string;
  readonly category: Category;
  readonly title: string;
  readonly detail: string;
  readonly failed: boolean;
  readonly open: boolean;
  readonly href?: string;
}

const NODE_W = 230;
const NODE_H = 46;
const GAP = 14;
const MAX_CHILDREN = 40;
const FAILED = /Failed|TimedOut|Terminated|Canceled/;

function buildNodes(ns: string, groups: readonly EventGroup[]): { inbound: Node[]; outbound: Node[] } {
  const byActivity = new Map<string, { total: number; failed: number; open: number }>();
  const bySignal = new Map<string, number>();
  let timers = 0;
  let openTimers = 0;
  const children: Node[] = [];
  for (const g of groups) {
    const last = eventName(g.events[g.events.length - 1]?.eventType);
    if (g.category === 'activity') {
      const entry = byActivity.get(g.label) ?? { total: 0, failed: 0, open: 0 };
      entry.total++;
      if (FAILED.test(last)) entry.failed++;
      if (/Scheduled$|Started$|CancelRequested$/.test(last)) entry.open++;
      byActivity.set(g.label, entry);
    } else if (g.category === 'timer') {
      timers++;
      if (last === 'TimerStarted') openTimers++;
    } else if (g.category === 'signal') {
      bySignal.set(g.label, (bySignal.get(g.label) ?? 0) + 1);
    } else if (g.category === 'child' && children.length < MAX_CHILDREN) {
      const first = g.events[0];
      const workflowId = first ? String(attributesOf(first)['workflowId'] ?? '') : '';
      const started = g.events.map(attributesOf).find((a) => a['workflowExecution'] !== undefined)?.['workflowExecution'] as { runId?: string } | undefined;
      children.push({
        key: `child-${g.id}`,
        category: 'child',
        title: workflowId,
        detail: `${g.label} · ${last.replace('ChildWorkflowExecution', '').replace('StartChildWorkflowExecution', 'Start') || 'Initiated'}`,
        failed: FAILED.test(last),
        open: /Initiated$|Started$/.test(last),
        href: workflowPath(ns, workflowId, started?.runId),
      });
    }
  }
  const outbound: Node[] = [...byActivity].map(([name, c]) => ({
    key: `activity-${name}`,
    category: 'activity',
    title: name,
    detail: `activity · ${c.total} run${c.total === 1 ? '' : 's'}${c.failed ? `, ${c.failed} failed` : ''}${c.open ? `, ${c.open} open` : ''}`,
    failed: c.failed > 0,
    open: c.open > 0,
  }));
  if (timers > 0) outbound.push({ key: 'timers', category: 'timer', title: `${timers} timer${timers === 1 ? '' : 's'}`, detail: openTimers ? `${openTimers} waiting` : 'all fired or canceled', failed: false, open: openTimers > 0 });
  outbound.push(...children);
  const inbound: Node[] = [...bySignal].map(([name, n]) => ({ key: `signal-${name}`, category: 'signal', title: name, detail: `signal · received ${n}×`, failed: false, open: false }));
  return { inbound, outbound };
}

export function Graph({ ns, groups, workflowType, status }: { ns: string; groups: readonly EventGroup[]; workflowType: string; status: string }) {
  const { inbound, outbound } = useMemo(() => buildNodes(ns, groups), [ns, groups]);
  if (inbound.length === 0 && outbound.length === 0) return <div className="empty">This run has no activities, timers, children or signals yet.</div>;
  const rows = Math.max(inbound.length, outbound.length, 1);
  const height = rows * (NODE_H + GAP) + GAP;
  const columnX = [20, 20 + NODE_W + 120, 20 + 2 * (NODE_W + 120)];
  const width = (columnX[2] ?? 0) + NODE_W + 20;
  const yOf = (i: number, count: number) => GAP + i * (NODE_H + GAP) + ((rows - count) * (NODE_H + GAP)) / 2;
  const rootY = height / 2 - NODE_H / 2;
  const edge = (x1: number, y1: number, x2: number, y2: number) => `M ${x1} ${y1} C ${x1 + 60} ${y1}, ${x2 - 60} ${y2}, ${x2} ${y2}`;
  const box = (n: Node, x: number, y: number) => (
    <g
      key={n.key}
      className={`graph-node cat-${n.category} ${n.failed ? 'failed' : ''} ${n.open ? 'open' : ''} ${n.href ? 'link' : ''}`}
      transform={`translate(${x},${y})`}
      onClick={n.href ? () => navigate(n.href ?? '') : undefined}
    >
      <rect width={NODE_W} height={NODE_H} rx={8} />
      <text x={12} y={19} className="graph-title">
        {n.title.length > 30 ? `${n.title.slice(0, 29)}…` : n.title}
      </text>
      <text x={12} y={36} className="graph-detail">
        {n.detail}
      </text>
    </g>
  );
  return (
    <div className="graph" data-testid="graph">
      <svg width={width} height={height} role="img" aria-label="Graph of the workflow's activities, timers, children and signals">
        {inbound.map((n, i) => (
          <path key={`e-${n.key}`} className="graph-edge" d={edge((columnX[0] ?? 0) + NODE_W, yOf(i, inbound.length) + NODE_H / 2, columnX[1] ?? 0, rootY + NODE_H / 2)} />
        ))}
        {outbound.map((n, i) => (
          <path key={`e-${n.key}`} className={`graph-edge ${n.failed ? 'failed' : ''}`} d={edge((columnX[1] ?? 0) + NODE_W, rootY + NODE_H / 2, columnX[2] ?? 0, yOf(i, outbound.length) + NODE_H / 2)} />
        ))}
        {inbound.map((n, i) => box(n, columnX[0] ?? 0, yOf(i, inbound.length)))}
        {box({ key: 'root', category: 'workflow', title: workflowType, detail: `this run · ${status}`, failed: /Failed|TimedOut|Terminated/.test(status), open: status === 'Running' }, columnX[1] ?? 0, rootY)}
        {outbound.map((n, i) => box(n, columnX[2] ?? 0, yOf(i, outbound.length)))}
      </svg>
    </div>
  );
}
