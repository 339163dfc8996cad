// Replaying a recorded history outside a worker: the determinism check to run in CI before deploying
// changed workflow code, and the engine of `Worker.runReplayHistory`.
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, type WorkflowBundle } from './bundler.js';
import { HistoryReplayer } from './replay/history-replayer.js';
import { CompiledBundle, WorkflowSandbox } from './sandbox.js';
import { DefaultFailureConverter, defaultPayloadConverter } from '@kairos/sdk-common';
import { WorkflowCodecRunner } from './workflow-codec.js';
import type { DataConverter } from './worker-options.js';
import type { WorkerInterceptors } from './interceptors.js';

export interface ReplayHistoryOptions {
  workflowsPath?: string;
  workflowBundle?: WorkflowBundle;
  bundlerAliases?: Record<string, string>;
  namespace?: string;
  /** Needed to replay a history whose payloads a codec encoded, or that a custom converter wrote. */
  dataConverter?: DataConverter;
  /** Only `workflowModules` is used: workflow interceptors take part in replay. */
  interceptors?: WorkerInterceptors;
}

export async function runReplayHistory(
  options: ReplayHistoryOptions,
  history: temporal.api.history.v1.IHistory,
  workflowId = 'replay',
): Promise<void> {
  let bundle = options.workflowBundle;
  if (bundle === undefined) {
    if (options.workflowsPath === undefined) throw new TypeError('runReplayHistory needs workflowsPath or workflowBundle');
    bundle = await bundleWorkflowCode({
      workflowsPath: options.workflowsPath,
      aliases: options.bundlerAliases,
      payloadConverterPath: options.dataConverter?.payloadConverterPath,
      failureConverterPath: options.dataConverter?.failureConverterPath,
      workflowInterceptorModules: options.interceptors?.workflowModules,
    });
  }
  const events = history.events ?? [];
  const codecs = new WorkflowCodecRunner({
    payloadConverter: defaultPayloadConverter,
    payloadCodecs: options.dataConverter?.payloadCodecs ?? [],
    failureConverter: new DefaultFailureConverter(),
  });
  await codecs.decodeHistory(events);
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  const runId = started?.originalExecutionRunId || 'replay-run';
  const sandbox = new WorkflowSandbox(new CompiledBundle(bundle), { activationTimeoutMs: undefined, logPrefix: `[replay(${workflowId})]` });
  const outcome = new HistoryReplayer(sandbox, { namespace: options.namespace ?? 'default', workflowId, runId }).replay(events);
  if (outcome.live?.taskFailure !== undefined) {
    throw new Error(`workflow task failed during replay: ${outcome.live.taskFailure.message ?? ''}`);
  }
}
