/** Workflows the browser tests run with the official SDK worker: an order flow with activities and a
 * timer, one waiting for an approval signal (with a query), one that fails, a parent with children,
 * and one that writes a very long history in a single workflow task. */
import { ApplicationFailure, condition, defineQuery, defineSignal, executeChild, proxyActivities, setHandler, sleep, upsertMemo } from '@temporalio/workflow';
import type * as activities from '../activities.js';

const { reserveStock, chargeCard, declineCard } = proxyActivities<typeof activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '100ms', maximumAttempts: 3 },
});

export const approveSignal = defineSignal<[{ approver: string }]>('approve');
export const statusQuery = defineQuery<string>('status');

export async function orderWorkflow(order: { id: string; amount: number }): Promise<{ id: string; receipt: string; state: string }> {
  await reserveStock(order.id);
  await sleep('200ms');
  const receipt = await chargeCard(order.id, order.amount);
  return { id: order.id, receipt, state: 'shipped' };
}

export async function approvalWorkflow(request: { id: string }): Promise<string> {
  let approver: string | undefined;
  setHandler(approveSignal, (input) => {
    approver = input.approver;
  });
  setHandler(statusQuery, () => (approver === undefined ? 'waiting for approval' : `approved by ${approver}`));
  await condition(() => approver !== undefined);
  await reserveStock(request.id);
  return `request ${request.id} approved by ${approver ?? ''}`;
}

export async function failingOrderWorkflow(order: { id: string; amount: number }): Promise<never> {
  await reserveStock(order.id);
  await declineCard(order.id);
  throw ApplicationFailure.nonRetryable('unreachable: declineCard always fails');
}

export async function parentWorkflow(orderIds: string[]): Promise<string[]> {
  const results = await Promise.all(orderIds.map((id) => executeChild(orderWorkflow, { workflowId: `child-${id}`, args: [{ id, amount: 10 }] })));
  return results.map((r) => r.receipt);
}

/**
 * Writes a long history fast: `batches` workflow tasks of `perBatch` upsertMemo commands each (one
 * WorkflowPropertiesModified event per command), a 1 ms timer between batches. One huge workflow task
 * would do too, but sdk-core slows down on tens of thousands of commands in one activation.
 * Events: 4 (start, first task) + batches * perBatch + 5 per extra batch (timer started/fired, task
 * scheduled/started/completed) + 1 (completed).
 */
export async function longHistoryWorkflow(batches: number, perBatch: number): Promise<number> {
  for (let batch = 0; batch < batches; batch++) {
    if (batch > 0) await sleep(1);
    for (let i = 1; i <= perBatch; i++) upsertMemo({ step: batch * perBatch + i });
  }
  return batches * perBatch;
}
