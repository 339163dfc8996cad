// A replay-aware logger for workflow code: it writes through the sandbox console, which the worker
// silences while a workflow task is replayed, so each line appears once, when the code first ran.
import { maybeActivator } from './runtime.js';

type Attributes = Record<string, unknown>;

function emit(level: 'debug' | 'info' | 'warn' | 'error', message: string, attributes?: Attributes): void {
  const info = maybeActivator()?.info;
  const context = info === undefined ? {} : { workflowId: info.workflowId, runId: info.runId, workflowType: info.workflowType };
  console[level](message, { ...context, ...attributes });
}

export const log = {
  debug: (message: string, attributes?: Attributes): void => emit('debug', message, attributes),
  info: (message: string, attributes?: Attributes): void => emit('info', message, attributes),
  warn: (message: string, attributes?: Attributes): void => emit('warn', message, attributes),
  error: (message: string, attributes?: Attributes): void => emit('error', message, attributes),
};
