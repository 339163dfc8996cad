// @kairos/worker: runs workflows (bundled with esbuild, executed in a deterministic node:vm sandbox,
// continued from a cache of live runs with sticky execution, or replayed from history) and activities against a Temporal-compatible server.
export { Worker, type WorkerState } from './worker.js';
export { compileWorkerOptions, type ActivityFunction, type CompiledWorkerOptions, type DataConverter, type WorkerOptions } from './worker-options.js';
export { DefaultFailureConverter, type FailureConverter, type PayloadCodec, type PayloadConverter, type Payload } from '@kairos/sdk-common';
export { bundleWorkflowCode, type BundleOptions, type WorkflowBundle } from './bundler.js';
export { runReplayHistory, type ReplayHistoryOptions } from './replayer.js';
export type { WorkflowCacheStats } from './workflow-cache.js';
export { historyFromJSON } from './history-json.js';
export { ActivationDeadlineError, IllegalWorkerStateError, NondeterminismError, WorkflowBundleError } from './errors.js';
export { consoleLogger, type WorkerLogger } from './logger.js';
export type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptors,
  ActivityInterceptorsFactory,
  ActivityOutboundCallsInterceptor,
  GetLogAttributesInput,
  Headers,
  Next,
  WorkerInterceptors,
} from './interceptors.js';
