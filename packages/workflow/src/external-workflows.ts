// Handles on workflows other than this one: signal them or ask the server to cancel them. Each call
// is a command whose outcome the server reports in a later event (delivered, or not found).
import { composeInterceptors, toPayloads, type SignalDefinition } from '@kairos/sdk-common';
import { CancellationScope } from './cancellation-scope.js';
import { getActivator } from './runtime.js';

export interface ExternalWorkflowHandle {
  readonly workflowId: string;
  readonly runId: string | undefined;
  signal<Args extends unknown[]>(definition: SignalDefinition<Args> | string, ...args: Args): Promise<void>;
  cancel(): Promise<void>;
}

export function getExternalWorkflowHandle(workflowId: string, runId?: string): ExternalWorkflowHandle {
  return {
    workflowId,
    runId,
    async signal<Args extends unknown[]>(definition: SignalDefinition<Args> | string, ...args: Args): Promise<void> {
      const activator = getActivator();
      const scope = CancellationScope.current();
      if (scope.consideredCancelled) return await scope.cancelRequested;
      const seq = activator.nextSeq.signalWorkflow++;
      const signalName = typeof definition === 'string' ? definition : definition.name;
      const signalWorkflow = composeInterceptors(activator.interceptors.outbound, 'signalWorkflow', async (input) => {
        const target = input.target.type === 'external' ? input.target.workflowExecution : { workflowId: input.target.childWorkflowId, runId: undefined };
        await new Promise<unknown>((resolve, reject) => {
          activator.signalRequests.set(input.seq, { resolve, reject });
          activator.pushCommand({
            kind: 'signalExternal',
            seq: input.seq,
            workflowId: target.workflowId,
            runId: target.runId,
            signalName: input.signalName,
            args: toPayloads(activator.converter, input.args),
            headers: input.headers,
            childWorkflowOnly: input.target.type === 'child',
          });
        });
      });
      await signalWorkflow({ seq, signalName, args, headers: {}, target: { type: 'external', workflowExecution: { workflowId, runId } } });
    },
    async cancel(): Promise<void> {
      const activator = getActivator();
      const seq = activator.nextSeq.cancelWorkflow++;
      await new Promise<unknown>((resolve, reject) => {
        activator.cancelRequests.set(seq, { resolve, reject });
        activator.pushCommand({ kind: 'requestCancelExternal', seq, workflowId, runId, childWorkflowOnly: false });
      });
    },
  };
}
