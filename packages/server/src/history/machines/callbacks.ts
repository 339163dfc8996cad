// Completion callbacks: a run started by a Nexus operation's handler carries the caller's callback
// (StartWorkflowExecution's completion_callbacks). When the run's chain closes, each callback is
// delivered once: for `temporal://system` the operation in the calling run is completed in process
// (history/ops/callbacks.ts). Continue-as-new and a retried run carry the callbacks to the next run.
//
//   STANDBY --the chain closed--> SCHEDULED --delivered--> SUCCEEDED
//                                     |--caller gone / rejected--> FAILED
//                                     |--delivery error--> retried (the delivery row fires again)
import { api, msToTimestamp } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { FailureCodec } from '../../proto-types.js';
import { InvalidArgumentError } from '../../errors.js';
import { SYSTEM_CALLBACK_URL } from '../../nexus/callback-token.js';
import type { CallbackInfo } from '../mutable-state.js';
import type { Transition } from '../transition.js';

export type CompletionCallback = Loose<temporal.api.common.v1.ICallback>;
type Link = Loose<temporal.api.common.v1.ILink>;

/** Temporal's limits (system.maxCallbacksPerWorkflow, frontend.callbackURLMaxLength / callbackHeaderMaxLength / maxlinksPerRequest). */
export const MAX_CALLBACKS = 32;
const MAX_URL_LENGTH = 1000;
const MAX_HEADER_SIZE = 8192;
const MAX_LINKS = 10;

/**
 * Checks a start request's callbacks and links as Temporal's frontend does; returns the callbacks with
 * their header keys lower-cased, and the request's links without those a callback already carries.
 */
export function checkCompletionCallbacks(callbacks: readonly CompletionCallback[] | null | undefined, links: readonly Link[] | null | undefined): { callbacks: CompletionCallback[]; links: Link[] } {
  const list = callbacks ?? [];
  if (list.length > MAX_CALLBACKS) throw new InvalidArgumentError(`cannot attach more than ${MAX_CALLBACKS} callbacks to an execution`);
  const normalized = list.map((cb) => {
    if (!cb.nexus) throw new InvalidArgumentError('unsupported callback variant');
    const url = cb.nexus.url ?? '';
    if (url.length > MAX_URL_LENGTH) throw new InvalidArgumentError(`invalid url: url length longer than max length allowed of ${MAX_URL_LENGTH}`);
    if (url !== SYSTEM_CALLBACK_URL) {
      // No callback address is allowed by default (Temporal's callback.allowedAddresses is empty).
      if (!/^https?:\/\//i.test(url)) throw new InvalidArgumentError(`invalid url: unknown scheme: ${url}`);
      throw new InvalidArgumentError(`invalid url: url does not match any configured callback address: ${url}`);
    }
    const header: Record<string, string> = {};
    let size = 0;
    for (const [k, v] of Object.entries(cb.nexus.header ?? {})) {
      header[k.toLowerCase()] = v;
      size += k.length + v.length;
    }
    if (size > MAX_HEADER_SIZE) throw new InvalidArgumentError(`invalid header: header size longer than max allowed size of ${MAX_HEADER_SIZE}`);
    return { ...cb, nexus: { url, header } };
  });
  const carried = normalized.flatMap((cb) => cb.links ?? []).map(linkKey);
  const kept = (links ?? []).filter((l) => !carried.includes(linkKey(l)));
  const count = kept.length + carried.length;
  if (count > MAX_LINKS) throw new InvalidArgumentError(`cannot attach more than ${MAX_LINKS} links per request, got ${count}`);
  return { callbacks: normalized, links: kept };
}

function linkKey(link: Link): string {
  return Buffer.from(api.common.v1.Link.encode(link as temporal.api.common.v1.ILink).finish()).toString('base64');
}

export function newCallbackInfos(callbacks: readonly CompletionCallback[], nowMs: number, requestId: string): CallbackInfo[] {
  return callbacks.map((cb) => ({
    callback: api.common.v1.Callback.encode(cb as temporal.api.common.v1.ICallback).finish(),
    registeredMs: nowMs,
    requestId,
    phase: 'standby',
    attempt: 0,
    lastAttemptCompleteMs: 0,
    lastAttemptFailure: null,
    nextAttemptMs: 0,
  }));
}

export function decodeCallback(info: CallbackInfo): temporal.api.common.v1.Callback {
  return api.common.v1.Callback.decode(info.callback);
}

/** The callbacks a continuing run (continue-as-new, retry, cron) takes over: those not delivered yet. */
export function carriedCallbacks(callbacks: readonly CallbackInfo[] | undefined): CallbackInfo[] {
  return (callbacks ?? []).filter((c) => c.phase === 'standby').map((c) => ({ ...c }));
}

/** The run's chain closed: its waiting callbacks are delivered by a row due at once. */
export function scheduleCallbacks(t: Transition): void {
  const waiting = (t.state.callbacks ?? []).filter((c) => c.phase === 'standby');
  if (waiting.length === 0) return;
  for (const c of waiting) c.phase = 'scheduled';
  t.addTimer(t.nowMs, { kind: 'deliverCallbacks' });
}

/** One delivery attempt's result for callback `index`. */
export function recordCallbackAttempt(t: Transition, index: number, result: { ok: true } | { ok: false; failure: temporal.api.failure.v1.IFailure; retryable: boolean }): void {
  const info = t.state.callbacks?.[index];
  if (!info || (info.phase !== 'scheduled' && info.phase !== 'backingOff')) return;
  info.attempt++;
  info.lastAttemptCompleteMs = t.nowMs;
  if (result.ok) {
    info.phase = 'succeeded';
    info.lastAttemptFailure = null;
  } else {
    info.phase = result.retryable ? 'backingOff' : 'failed';
    info.lastAttemptFailure = FailureCodec.encode(result.failure).finish();
  }
  t.stateChanged = true;
}

const CALLBACK_STATE = { standby: 1, scheduled: 2, backingOff: 3, failed: 4, succeeded: 5 } as const;

/** Temporal's CallbackInfo of one callback (DescribeWorkflowExecution). */
export function callbackInfoMessage(info: CallbackInfo): object {
  const ts = (ms: number) => (ms > 0 ? msToTimestamp(ms) : null);
  return {
    callback: decodeCallback(info),
    trigger: { workflowClosed: {} },
    registrationTime: msToTimestamp(info.registeredMs),
    state: CALLBACK_STATE[info.phase],
    attempt: info.attempt,
    lastAttemptCompleteTime: ts(info.lastAttemptCompleteMs),
    lastAttemptFailure: info.lastAttemptFailure ? FailureCodec.decode(info.lastAttemptFailure) : null,
    nextAttemptScheduleTime: ts(info.nextAttemptMs),
    blockedReason: '',
  };
}
