// Build 2 of the versioned workflows of deployments.test.ts: the same workflow types in every build,
// each answering with its build, so a test sees which version's worker ran a task.
import { condition, makeContinueAsNewFunc, proxyActivities, setHandler, setWorkflowOptions, sleep, workflowInfo } from '@temporalio/workflow';
import { buildQuery, unblockSignal } from './shared.js';

export { buildQuery, unblockSignal };
const BUILD = 'v2';
const { greet } = proxyActivities<{ greet(name: string): Promise<string> }>({ startToCloseTimeout: '10 s' });

async function untilUnblocked(): Promise<void> {
  let unblocked = false;
  setHandler(unblockSignal, () => void (unblocked = true));
  setHandler(buildQuery, () => BUILD);
  await condition(() => unblocked);
}

/** Moves to the current version at its next task. */
export async function autoUpgrading(): Promise<string> {
  await untilUnblocked();
  return BUILD;
}
setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, autoUpgrading);

/** Stays on the version that ran its first task. */
export async function pinned(): Promise<string> {
  await untilUnblocked();
  return BUILD + ':' + (await greet(BUILD));
}
setWorkflowOptions({ versioningBehavior: 'PINNED' }, pinned);

/** Pinned; continues as new, auto-upgrading, once its task queue's target version is another. */
export async function upgradeByContinueAsNew(attempt: number): Promise<string> {
  if (attempt > 0) return BUILD;
  for (;;) {
    await sleep(20);
    if (workflowInfo().targetWorkerDeploymentVersionChanged) {
      await makeContinueAsNewFunc<typeof upgradeByContinueAsNew>({ initialVersioningBehavior: 'AUTO_UPGRADE' })(attempt + 1);
    }
  }
}
setWorkflowOptions({ versioningBehavior: 'PINNED' }, upgradeByContinueAsNew);
