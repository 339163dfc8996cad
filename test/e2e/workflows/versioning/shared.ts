// The versioned workflows of deployments.test.ts. Each build (build-1.ts, build-2.ts) is bundled apart
// and makes the same workflow types, each answering with its build, so a test sees which version's
// worker ran a task.
import { condition, defineQuery, defineSignal, executeChild, makeContinueAsNewFunc, proxyActivities, setHandler, setWorkflowOptions, sleep, workflowInfo } from '@temporalio/workflow';

export const unblockSignal = defineSignal('unblock');
export const buildQuery = defineQuery<string>('build');

const { greet } = proxyActivities<{ greet(name: string): Promise<string> }>({ startToCloseTimeout: '10 s' });

export function workflowsOfBuild(build: string) {
  async function untilUnblocked(): Promise<void> {
    let unblocked = false;
    setHandler(unblockSignal, () => void (unblocked = true));
    setHandler(buildQuery, () => build);
    await condition(() => unblocked);
  }

  /** Moves to the current version at its next task. */
  async function autoUpgrading(): Promise<string> {
    await untilUnblocked();
    return build;
  }
  setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, autoUpgrading);

  /** Stays on the version that ran its first task (its activity too). */
  async function pinned(): Promise<string> {
    await untilUnblocked();
    return build + ':' + (await greet(build));
  }
  setWorkflowOptions({ versioningBehavior: 'PINNED' }, pinned);

  /** Pinned; continues as new, auto-upgrading, once its task queue's target version is another. */
  async function upgradeByContinueAsNew(attempt: number): Promise<string> {
    if (attempt > 0) return build;
    for (;;) {
      await sleep(20);
      if (workflowInfo().targetWorkerDeploymentVersionChanged) {
        await makeContinueAsNewFunc<typeof upgradeByContinueAsNew>({ initialVersioningBehavior: 'AUTO_UPGRADE' })(attempt + 1);
      }
    }
  }
  setWorkflowOptions({ versioningBehavior: 'PINNED' }, upgradeByContinueAsNew);

  /** Answers with the build that ran it. */
  async function whichBuild(): Promise<string> {
    return build;
  }
  setWorkflowOptions({ versioningBehavior: 'PINNED' }, whichBuild);

  /** Pinned; once unblocked, runs `whichBuild` as its child, which starts on the parent's version. */
  async function pinnedParent(childId: string): Promise<string> {
    await untilUnblocked();
    return build + ':' + (await executeChild(whichBuild, { workflowId: childId }));
  }
  setWorkflowOptions({ versioningBehavior: 'PINNED' }, pinnedParent);

  return { autoUpgrading, pinned, upgradeByContinueAsNew, whichBuild, pinnedParent };
}
