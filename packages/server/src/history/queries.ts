// In-flight queries. A query is either attached to the execution's next workflow task (answered in
// RespondWorkflowTaskCompleted.query_results) or sent as a stand-alone query task through matching
// (answered by RespondQueryTaskCompleted). Queries are never persisted: a query lost to a restart is
// retried by its caller.
import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { keyString } from './engine.js';
import type { ExecutionKey } from '../persistence/store.js';

type WorkflowQuery = Loose<temporal.api.query.v1.IWorkflowQuery>;
export type QueryAnswer = Loose<temporal.api.query.v1.IWorkflowQueryResult>;

export interface PendingQuery {
  readonly id: string;
  readonly key: ExecutionKey;
  readonly query: WorkflowQuery;
  /** 'wft': waiting for / attached to a workflow task; 'task': a stand-alone query task. */
  mode: 'wft' | 'task';
  /** For 'wft': attached to the workflow task with this started event id (0 = not yet attached). */
  attachedToStartedEventId: number;
  resolve(answer: QueryAnswer): void;
}

export class QueryRegistry {
  private readonly byId = new Map<string, PendingQuery>();
  private readonly byExecution = new Map<string, Set<PendingQuery>>();

  create(key: ExecutionKey, query: WorkflowQuery, mode: 'wft' | 'task'): { pending: PendingQuery; answer: Promise<QueryAnswer> } {
    let resolve!: (a: QueryAnswer) => void;
    const answer = new Promise<QueryAnswer>((r) => (resolve = r));
    const pending: PendingQuery = { id: randomUUID(), key, query, mode, attachedToStartedEventId: 0, resolve };
    this.byId.set(pending.id, pending);
    const k = keyString(key);
    let set = this.byExecution.get(k);
    if (!set) this.byExecution.set(k, (set = new Set()));
    set.add(pending);
    return { pending, answer };
  }

  get(id: string): PendingQuery | undefined {
    return this.byId.get(id);
  }

  remove(id: string): void {
    const p = this.byId.get(id);
    if (!p) return;
    this.byId.delete(id);
    const k = keyString(p.key);
    const set = this.byExecution.get(k);
    set?.delete(p);
    if (set && set.size === 0) this.byExecution.delete(k);
  }

  answer(id: string, answer: QueryAnswer): boolean {
    const p = this.byId.get(id);
    if (!p) return false;
    this.remove(id);
    p.resolve(answer);
    return true;
  }

  /** Queries waiting for a workflow task of this execution (not yet attached to one). */
  unattached(key: ExecutionKey): PendingQuery[] {
    return [...(this.byExecution.get(keyString(key)) ?? [])].filter((p) => p.mode === 'wft' && p.attachedToStartedEventId === 0);
  }

  /** Queries attached to the workflow task with the given started id. */
  attachedTo(key: ExecutionKey, startedEventId: number): PendingQuery[] {
    return [...(this.byExecution.get(keyString(key)) ?? [])].filter((p) => p.mode === 'wft' && p.attachedToStartedEventId === startedEventId);
  }
}
