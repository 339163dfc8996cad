// Child workflows: `startChild` issues a StartChildWorkflowExecution command and resolves with a
// handle once the server reports the child started; `executeChild` also waits for its result.
// Cancelling the scope a child was started in asks the server to cancel the child
// (RequestCancelExternalWorkflowExecution, child only), as chosen by `cancellationType`.
import {
  CancelledFailure,
  composeInterceptors,
  ChildWorkflowFailure,
  compileRetryPolicy,
  encodeUnifiedSearchAttributes,
  msOptionalFromDuration,
  toPayloads,
  type Duration,
  type SearchAttributePair,
  type SearchAttributes,
  type TypedSearchAttributes,
  type ParentClosePolicy as ParentClosePolicyName,
  type RetryPolicy,
  type Workflow,
  type WorkflowResultType,
  type Headers,
} from '@kairos/sdk-common';
import { CancellationScope } from './cancellation-scope.js';
import { getActivator, type Activator } from './runtime.js';
import { uuid4 } from './workflow-api.js';

/** What happens to a child when the parent closes. */
export const ParentClosePolicy = {
  TERMINATE: 'TERMINATE',
  ABANDON: 'ABANDON',
  REQUEST_CANCEL: 'REQUEST_CANCEL',
  // The official SDK's older spellings, so code using them carries over.
  PARENT_CLOSE_POLICY_TERMINATE: 'TERMINATE',
  PARENT_CLOSE_POLICY_ABANDON: 'ABANDON',
  PARENT_CLOSE_POLICY_REQUEST_CANCEL: 'REQUEST_CANCEL',
} as const;
export type ParentClosePolicy = ParentClosePolicyName;

/** What cancelling the scope of a child does. */
export const ChildWorkflowCancellationType = {
  /** Do not tell the server; the parent stops waiting at once. */
  ABANDON: 'ABANDON',
  /** Ask the server to cancel the child; the parent stops waiting at once. */
  TRY_CANCEL: 'TRY_CANCEL',
  /** Ask the server to cancel the child and wait until it closed (the default). */
  WAIT_CANCELLATION_COMPLETED: 'WAIT_CANCELLATION_COMPLETED',
} as const;
export type ChildWorkflowCancellationType = (typeof ChildWorkflowCancellationType)[keyof typeof ChildWorkflowCancellationType];

export interface ChildWorkflowOptions<Args extends unknown[] = unknown[]> {
  /** Defaults to a uuid4 drawn from the workflow's seeded generator. */
  workflowId?: string;
  args?: Args;
  taskQueue?: string;
  workflowExecutionTimeout?: Duration;
  workflowRunTimeout?: Duration;
  workflowTaskTimeout?: Duration;
  parentClosePolicy?: ParentClosePolicy;
  cancellationType?: ChildWorkflowCancellationType;
  workflowIdReusePolicy?: 'ALLOW_DUPLICATE' | 'ALLOW_DUPLICATE_FAILED_ONLY' | 'REJECT_DUPLICATE';
  retry?: RetryPolicy;
  cronSchedule?: string;
  memo?: Record<string, unknown>;
  /** @deprecated as in the official SDK: prefer `typedSearchAttributes`. */
  searchAttributes?: SearchAttributes;
  /** Wins over `searchAttributes` for an attribute both name. */
  typedSearchAttributes?: SearchAttributePair[] | TypedSearchAttributes;
}

export interface ChildWorkflowHandle<W extends Workflow> {
  readonly workflowId: string;
  readonly firstExecutionRunId: string;
  result(): Promise<WorkflowResultType<W>>;
}

type WorkflowRef<W extends Workflow> = string | W;

function typeName<W extends Workflow>(workflow: WorkflowRef<W>): string {
  return typeof workflow === 'string' ? workflow : workflow.name;
}

function cancelledChild(activator: Activator, workflowId: string, workflowType: string): ChildWorkflowFailure {
  const info = activator.requireInfo();
  return new ChildWorkflowFailure(info.namespace, { workflowId }, workflowType, 'CANCEL_REQUESTED', new CancelledFailure('Child Workflow cancelled'));
}

export async function startChild<W extends Workflow>(
  workflow: WorkflowRef<W>,
  options: ChildWorkflowOptions<Parameters<W>> = {},
): Promise<ChildWorkflowHandle<W>> {
  const activator = getActivator();
  const scope = CancellationScope.current();
  if (scope.consideredCancelled) return await scope.cancelRequested;
  const seq = activator.nextSeq.childWorkflow++;
  const startChildWorkflowExecution = composeInterceptors(activator.interceptors.outbound, 'startChildWorkflowExecution', async (input) =>
    issueStartChild(activator, scope, input.seq, input.workflowType, input.options, input.headers),
  );
  const workflowId = options.workflowId ?? uuid4();
  const [started, result] = await startChildWorkflowExecution({
    workflowType: typeName(workflow),
    options: { ...options, workflowId },
    headers: {},
    seq,
  });
  const firstExecutionRunId = (await started) as string;
  return {
    workflowId,
    firstExecutionRunId,
    result: () => result as Promise<WorkflowResultType<W>>,
  };
}

/** The StartChildWorkflowExecution command; resolves with the promises of the child's start (run id) and result. */
function issueStartChild(
  activator: Activator,
  scope: CancellationScope,
  seq: number,
  workflowType: string,
  options: ChildWorkflowOptions & { workflowId: string },
  headers: Headers,
): [Promise<string>, Promise<unknown>] {
  const { workflowId } = options;
  const cancellationType = options.cancellationType ?? ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED;
  const result = new Promise<unknown>((resolve, reject) => activator.childResults.set(seq, { resolve, reject }));
  result.catch(() => undefined); // the parent may never ask for the result
  const started = new Promise<string>((resolve, reject) => activator.childStarts.set(seq, { resolve: resolve as (value: unknown) => void, reject }));
  const unsubscribe = scope.onCancel((reason) => {
    if (activator.withdrawCommand('startChild', seq)) {
      // Never sent: nothing to cancel on the server.
      activator.childStarts.get(seq)?.reject(reason);
      activator.childResults.get(seq)?.reject(reason);
      activator.childStarts.delete(seq);
      activator.childResults.delete(seq);
      return;
    }
    if (!activator.childResults.has(seq)) return;
    if (cancellationType !== 'ABANDON') {
      activator.pushCommand({ kind: 'requestCancelExternal', seq: activator.nextSeq.cancelWorkflow++, workflowId, runId: undefined, childWorkflowOnly: true });
    }
    if (cancellationType !== 'WAIT_CANCELLATION_COMPLETED') {
      activator.childResults.get(seq)?.reject(cancelledChild(activator, workflowId, workflowType));
      activator.childResults.delete(seq);
    }
  });
  result.then(unsubscribe, unsubscribe);
  activator.pushCommand({
    kind: 'startChild',
    seq,
    workflowType,
    workflowId,
    args: toPayloads(activator.converter, options.args ?? []),
    headers,
    options: {
      taskQueue: options.taskQueue,
      executionTimeoutMs: msOptionalFromDuration(options.workflowExecutionTimeout),
      runTimeoutMs: msOptionalFromDuration(options.workflowRunTimeout),
      taskTimeoutMs: msOptionalFromDuration(options.workflowTaskTimeout),
      parentClosePolicy: options.parentClosePolicy,
      workflowIdReusePolicy: options.workflowIdReusePolicy,
      retry: options.retry === undefined ? undefined : compileRetryPolicy(options.retry),
      cronSchedule: options.cronSchedule,
      memo:
        options.memo === undefined
          ? undefined
          : Object.fromEntries(Object.entries(options.memo).map(([k, v]) => [k, activator.converter.toPayload(v)])),
      searchAttributes:
        options.searchAttributes === undefined && options.typedSearchAttributes === undefined
          ? undefined
          : encodeUnifiedSearchAttributes(options.searchAttributes, options.typedSearchAttributes),
    },
  });
  return [started, result];
}

export async function executeChild<W extends Workflow>(
  workflow: WorkflowRef<W>,
  options: ChildWorkflowOptions<Parameters<W>> = {},
): Promise<WorkflowResultType<W>> {
  const handle = await startChild(workflow, options);
  return await handle.result();
}
