// The SQLite store on a thread of its own: what runs there (`serveStore`) and how its answers and errors
// cross back to the server's main thread. threaded-store.ts is the other side. Design:
// docs/adr/0007-sqlite-thread.md.
//
// Protocol, over the worker's parent port, one message each way per call:
// - main → thread: `{ id, method, args }`, `method` one of the Store's methods;
// - thread → main: `{ id, ok: true, value }` or `{ id, ok: false, error }` (an ErrorPayload).
// The first call must be `open` with the file name; `close` closes the database and ends the thread.
// Calls are served one at a time in the order they were sent, so a read sent after a commit sees it.
import type { MessagePort } from 'node:worker_threads';
import { ConditionFailedError, DatabaseLockedError, DurabilityError, PersistenceError } from '../errors.js';
import type { Store } from '../store.js';
import { SqliteStore } from './sqlite-store.js';

/** The Store methods a caller may send (every method of the interface). */
export type StoreMethod = keyof Store;

export interface StoreRequest {
  readonly id: number;
  readonly method: StoreMethod | 'open';
  readonly args: readonly unknown[];
}

/** An error as it crosses threads: its class by name and the fields that class carries. */
export interface ErrorPayload {
  readonly name: string;
  readonly message: string;
  readonly stack?: string | undefined;
  /** SqliteError's code (SQLITE_FULL, ...). */
  readonly code?: string | undefined;
  readonly expected?: string | number | null | undefined;
  readonly found?: string | number | null | undefined;
  readonly cause?: ErrorPayload | undefined;
}

export type StoreResponse =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: ErrorPayload };

export function errorToPayload(error: unknown): ErrorPayload {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const fields = error as Error & { code?: unknown; expected?: unknown; found?: unknown };
  const scalar = (value: unknown): string | number | null | undefined =>
    typeof value === 'string' || typeof value === 'number' || value === null ? value : undefined;
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    code: typeof fields.code === 'string' ? fields.code : undefined,
    expected: scalar(fields.expected),
    found: scalar(fields.found),
    cause: error.cause === undefined ? undefined : errorToPayload(error.cause),
  };
}

/**
 * The error the caller would have got from the store on its own thread: the persistence classes come
 * back as themselves (callers test `instanceof ConditionFailedError`); anything else (an SQLite error, a
 * TypeError on bad input) as an Error of the same name, message and code.
 */
export function errorFromPayload(payload: ErrorPayload): Error {
  const options = payload.cause === undefined ? undefined : { cause: errorFromPayload(payload.cause) };
  let error: Error;
  switch (payload.name) {
    case 'ConditionFailedError':
      error = new ConditionFailedError(payload.message, payload.expected, payload.found);
      break;
    case 'DatabaseLockedError':
      error = new DatabaseLockedError(payload.message, options);
      break;
    case 'DurabilityError':
      error = new DurabilityError(payload.message, options);
      break;
    case 'PersistenceError':
      error = new PersistenceError(payload.message, options);
      break;
    case 'TypeError':
      error = new TypeError(payload.message, options);
      break;
    case 'RangeError':
      error = new RangeError(payload.message, options);
      break;
    default:
      error = new Error(payload.message, options);
      error.name = payload.name;
  }
  if (payload.code !== undefined) Object.assign(error, { code: payload.code });
  // The thread's stack says where it failed inside the store; the caller's frames are not in it.
  if (payload.stack !== undefined) error.stack = payload.stack;
  return error;
}

/** Serves Store calls arriving on `port` until `close`; the database is opened by the first call. */
export function serveStore(port: MessagePort): void {
  let store: SqliteStore | undefined;
  const call = (request: StoreRequest): unknown => {
    if (request.method === 'open') {
      if (store !== undefined) throw new PersistenceError('the SQLite thread already has its database open');
      store = SqliteStore.open({ filename: String(request.args[0]) });
      return undefined;
    }
    if (store === undefined) throw new PersistenceError(`${request.method} before the SQLite thread opened its database`);
    const method = store[request.method] as (...args: unknown[]) => unknown;
    const value = method.apply(store, [...request.args]);
    // A batch's per-write errors travel as payloads too (a cloned Error would lose its class).
    if (request.method !== 'commitBatch') return value;
    return (value as Promise<Array<Error | null>>).then((errors) => errors.map((e) => (e === null ? null : errorToPayload(e))));
  };
  port.on('message', (request: StoreRequest) => {
    const answer = (response: StoreResponse): void => port.postMessage(response);
    const fail = (error: unknown): void => answer({ id: request.id, ok: false, error: errorToPayload(error) });
    // Every SqliteStore method has done its work by the time it returns (better-sqlite3 is synchronous):
    // its promise is already settled, so answers leave in request order.
    try {
      Promise.resolve(call(request)).then(
        (value) => {
          answer({ id: request.id, ok: true, value });
          if (request.method === 'close') port.close();
        },
        fail,
      );
    } catch (error) {
      fail(error);
    }
  });
}
