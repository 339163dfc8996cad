/**
 * Dynamic (default) handlers: setDefaultSignalHandler, setDefaultQueryHandler and
 * setDefaultUpdateHandler get what has no handler of its own, with its name first.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure, QueryNotRegisteredError, WorkflowUpdateFailedError } from '@kairos/client';
import { startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

const FIXTURE_WORKFLOWS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/default-handler-workflows.ts');

let env: SdkEnvironment;

beforeAll(async () => {
  env = await startSdkEnvironment(FIXTURE_WORKFLOWS);
});

afterAll(async () => {
  await env?.close();
});

describe('default handlers', () => {
  it('signals, queries and updates without their own handler reach the default handlers', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('defaultHandlersWorkflow', { taskQueue, workflowId: uniqueName('defaults') });
      await handle.signal('known', 'a');
      await handle.signal('anything', 1, 'two');
      await handle.signal('other');
      // Queries: the own handler wins; any other name goes to the default handler.
      expect(await handle.query('ownQuery')).toBe('own answer');
      expect(await handle.query('whatever', 'x', 2)).toEqual({
        queryName: 'whatever',
        args: ['x', 2],
        received: ['known(own):a', 'anything:1,two', 'other:'],
      });
      // Updates: likewise; a failure thrown by the default handler fails the update.
      expect(await handle.executeUpdate('ownUpdate', { args: ['v'] })).toBe('own update:v');
      expect(await handle.executeUpdate('dynamic', { args: [3, 'four'] })).toBe('dynamic(3,four)');
      const failed: unknown = await handle.executeUpdate('failing').catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((failed as WorkflowUpdateFailedError).cause).toBeInstanceOf(ApplicationFailure);
      expect((failed as WorkflowUpdateFailedError).cause?.message).toBe('no such operation');
      // Unset: unknown updates are rejected and unknown queries fail again.
      await handle.signal('unsetDefaults');
      const rejected: unknown = await handle.executeUpdate('dynamic').catch((e: unknown) => e);
      expect(rejected).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((rejected as WorkflowUpdateFailedError).cause?.message).toBe('No registered handler for update: dynamic');
      await expect(handle.query('whatever')).rejects.toBeInstanceOf(QueryNotRegisteredError);
      await handle.signal('done');
      // unsetDefaults has its own handler: it never reached the default signal handler.
      expect(await handle.result()).toEqual(['known(own):a', 'anything:1,two', 'other:', 'update dynamic', 'done:']);
    });
  });

  it('signals that arrived before the default handler was set are delivered to it, in order', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('lateDefaultSignalWorkflow', { taskQueue, workflowId: uniqueName('late-default') });
      await handle.signal('first', 1);
      await handle.signal('second', 2);
      await handle.signal('arm');
      expect(await handle.result()).toEqual(['first:1', 'second:2']);
    });
  });
});
