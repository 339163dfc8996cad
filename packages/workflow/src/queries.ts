// Runs query handlers. A handler may return a promise; answers are collected in a second step from
// the worker, after the sandbox's promise jobs ran, so that such a promise has settled by then.
import { composeInterceptors, type FailureConverter, type PayloadConverter, type QueryAnswer, type QueryRequest, fromPayloads } from '@kairos/sdk-common';
import type { WorkflowInboundCallsInterceptor } from './interceptors.js';

type Handler = (...args: unknown[]) => unknown;

/** Queries the official SDK answers for every workflow (the UI's "call stack" asks for them). */
const BUILT_IN: Readonly<Record<string, Handler>> = {
  __stack_trace: () => '',
  __enhanced_stack_trace: () => ({ sdk: { name: 'kairos-typescript', version: '0.1.0' }, stacks: [], sources: {} }),
};

export class QueryRunner {
  private answers: { queryId: string; answer: QueryAnswer | undefined }[] = [];

  constructor(
    private readonly converter: PayloadConverter,
    private readonly failureConverter: FailureConverter,
  ) {}

  /** `defaultHandler` answers a query with neither its own handler nor a built-in one (name first). */
  start(
    request: QueryRequest,
    handlers: ReadonlyMap<string, Handler>,
    defaultHandler: ((queryName: string, ...args: unknown[]) => unknown) | undefined,
    inbound: readonly WorkflowInboundCallsInterceptor[] = [],
  ): void {
    const entry: { queryId: string; answer: QueryAnswer | undefined } = { queryId: request.queryId, answer: undefined };
    this.answers.push(entry);
    const fail = (error: unknown): void => {
      entry.answer = { queryId: request.queryId, failure: this.failureConverter.errorToFailure(error, this.converter) };
    };
    const handler =
      handlers.get(request.queryType) ??
      BUILT_IN[request.queryType] ??
      (defaultHandler === undefined ? undefined : (...args: unknown[]) => defaultHandler(request.queryType, ...args));
    if (handler === undefined) {
      const known = [...handlers.keys()].join(', ');
      fail(new TypeError(`Workflow did not register a handler for ${request.queryType}. Registered queries: [${known}]`));
      return;
    }
    try {
      const input = { queryId: request.queryId, queryName: request.queryType, args: fromPayloads(this.converter, request.args), headers: request.headers };
      const result = inbound.some((i) => i.handleQuery !== undefined)
        ? composeInterceptors(inbound, 'handleQuery', async (last) => await handler(...last.args))(input)
        : handler(...input.args);
      Promise.resolve(result).then((value) => {
        entry.answer = { queryId: request.queryId, result: this.converter.toPayload(value) };
      }, fail);
    } catch (error) {
      fail(error);
    }
  }

  collect(): QueryAnswer[] {
    const answers = this.answers.map(
      (entry) =>
        entry.answer ?? {
          queryId: entry.queryId,
          failure: this.failureConverter.errorToFailure(new Error('query handler did not settle within the activation'), this.converter),
        },
    );
    this.answers = [];
    return answers;
  }
}
