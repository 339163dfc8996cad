/**
 * What the files that cross histories between the SDKs share: a Kairos server with our SDK's client,
 * the shared workflow file bundled for each SDK, and an official client and native connection.
 */
import { bundleWorkflowCode, type WorkflowBundle } from '@kairos/worker';
import type { WorkflowBundle as OfficialBundle } from '@temporalio/worker';
import { bundleWorkflows, connect, type Connections } from '../e2e/helpers/sdk.js';
import { OFFICIAL_TO_KAIROS, SHARED_WORKFLOWS, startSdkEnvironment, type SdkEnvironment } from './helpers.js';

export interface CrossSdk {
  readonly env: SdkEnvironment;
  /** SHARED_WORKFLOWS bundled for the Kairos SDK. */
  readonly sharedBundle: WorkflowBundle;
  /** SHARED_WORKFLOWS bundled for the official SDK. */
  readonly officialBundle: OfficialBundle;
  readonly official: Connections;
  close(): Promise<void>;
}

export async function startCrossSdk(): Promise<CrossSdk> {
  const env = await startSdkEnvironment();
  const [sharedBundle, officialBundle, official] = await Promise.all([
    bundleWorkflowCode({ workflowsPath: SHARED_WORKFLOWS, aliases: OFFICIAL_TO_KAIROS }),
    bundleWorkflows(SHARED_WORKFLOWS),
    connect(env.server.grpcAddress),
  ]);
  return {
    env,
    sharedBundle,
    officialBundle,
    official,
    async close() {
      await official.close();
      await env.close();
    },
  };
}
