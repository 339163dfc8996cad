/**
 * Workflows of the data converter tests, written against @temporalio/workflow so that the official
 * worker runs them as they are and ours with the import aliased to @kairos/workflow.
 */
import {
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';

export const noteSignal = defineSignal<[string]>('note');
export const finishSignal = defineSignal('finish');
export const notesQuery = defineQuery<string[]>('notes');
export const echoUpdate = defineUpdate<string, [string]>('echo');

interface CodecActivities {
  greetAfterRetry(name: string): Promise<{ greeting: string; heartbeat: unknown; failedBefore: boolean }>;
  echo(text: string): Promise<string>;
}

const { greetAfterRetry } = proxyActivities<CodecActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '10ms', maximumAttempts: 3 },
});
const { echo } = proxyActivities<CodecActivities>({ startToCloseTimeout: '10s' });

/** Uses every kind of payload: input, memo, activity (heartbeat, failure, retry), signal, query, update, result. */
export async function everyPayload(name: string): Promise<{ greeting: string; heartbeat: unknown; memo: unknown; notes: string[] }> {
  const notes: string[] = [];
  setHandler(noteSignal, (note) => void notes.push(note));
  setHandler(notesQuery, () => notes);
  setHandler(echoUpdate, (text) => `echo: ${text}`);
  let finished = false;
  setHandler(finishSignal, () => void (finished = true));
  const { greeting, heartbeat } = await greetAfterRetry(name);
  await condition(() => finished);
  return { greeting, heartbeat, memo: workflowInfo().memo, notes };
}

/** Fails with a message, details and an activity failure as its cause. */
export async function failsWithSecret(secret: string): Promise<never> {
  throw ApplicationFailure.nonRetryable(`failure-message-${secret}`, 'SecretError', { detail: `failure-detail-${secret}` });
}

/** The cross-SDK scenario: an activity, a memo, a result. */
export async function echoThroughActivity(text: string): Promise<{ echoed: string; memo: unknown }> {
  return { echoed: await echo(text), memo: workflowInfo().memo };
}
