/**
 * A workflow interceptor module for test/sdk/interceptors.test.ts, bundled with the workflows. It
 * records what passes through it (readable with the `interceptorLog` query) and passes the
 * `trace-id` header of the start on to every activity, as a tracing interceptor would.
 */
import { defaultPayloadConverter, defineQuery, setHandler, workflowInfo, type Headers, type WorkflowInterceptors } from '@kairos/workflow';

export const interceptorLogQuery = defineQuery<string[]>('interceptorLog');

function headerValue(headers: Headers, name: string): string {
  const payload = headers[name];
  return payload === undefined ? '-' : String(defaultPayloadConverter.fromPayload(payload));
}

export function interceptors(): WorkflowInterceptors {
  // A factory runs once per run, so this log belongs to one run (and is rebuilt on replay).
  const log: string[] = [];
  let traceId = '-';
  return {
    inbound: [
      {
        async execute(input, next) {
          traceId = headerValue(input.headers, 'trace-id');
          log.push(`execute ${workflowInfo().workflowType} trace=${traceId}`);
          setHandler(interceptorLogQuery, () => log);
          return await next(input);
        },
        validateUpdate(input, next) {
          log.push(`validate ${input.name} ${JSON.stringify(input.args)} trace=${headerValue(input.headers, 'trace-id')}`);
          next(input);
        },
        async handleUpdate(input, next) {
          log.push(`update ${input.name} ${JSON.stringify(input.args)} trace=${headerValue(input.headers, 'trace-id')}`);
          return await next(input);
        },
        async handleSignal(input, next) {
          log.push(`signal ${input.signalName} ${JSON.stringify(input.args)} trace=${headerValue(input.headers, 'trace-id')}`);
          await next(input);
        },
      },
    ],
    outbound: [
      {
        async scheduleActivity(input, next) {
          log.push(`activity ${input.activityType}`);
          const headers = {
            ...input.headers,
            'trace-id': defaultPayloadConverter.toPayload(traceId),
            'workflow-type': defaultPayloadConverter.toPayload(workflowInfo().workflowType),
          };
          return await next({ ...input, headers });
        },
        async startTimer(input, next) {
          log.push(`timer ${input.durationMs}`);
          await next(input);
        },
      },
    ],
  };
}
