// What interceptors of the client, the worker and the workflow share: headers (named payloads that
// travel with a call: start, signal, activity, ...) and the chaining of `(input, next)` methods.
import type { Payload } from './payload.js';

/** Named payloads carried by a call; written to the request's or command's `header` field. */
export type Headers = Record<string, Payload>;

type AnyFunction = (...args: never[]) => unknown;

/** Drops the last parameter (`next`) of an interceptor method. */
type WithoutLast<T> = T extends [...infer Rest, unknown] ? Rest : never;
type WithoutLastParameter<F extends AnyFunction> = (...args: WithoutLast<Parameters<F>>) => ReturnType<F>;

/** The `next` an interceptor method receives: the rest of the chain, down to the real call. */
export type Next<Interceptor, Method extends keyof Interceptor> = Required<Interceptor>[Method] extends AnyFunction
  ? WithoutLastParameter<Required<Interceptor>[Method]>
  : never;

/**
 * Chains the `method` of `interceptors` around `last`: the first interceptor is the outermost, as
 * in the official SDK. Interceptors without the method are skipped.
 */
export function composeInterceptors<Interceptor, Method extends keyof Interceptor>(
  interceptors: readonly Interceptor[],
  method: Method,
  last: Next<Interceptor, Method>,
): Next<Interceptor, Method> {
  let next = last as unknown as (input: unknown) => unknown;
  for (let i = interceptors.length - 1; i >= 0; i--) {
    const fn = interceptors[i]?.[method] as ((input: unknown, next: (input: unknown) => unknown) => unknown) | undefined;
    if (fn === undefined) continue;
    const inner = next;
    const interceptor = interceptors[i];
    next = (input: unknown) => fn.call(interceptor, input, inner);
  }
  return next as unknown as Next<Interceptor, Method>;
}
