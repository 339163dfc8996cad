// Build 1 of the versioned workflows of deployments.test.ts (shared.ts).
import { workflowsOfBuild } from './shared.js';

export const { autoUpgrading, pinned, upgradeByContinueAsNew, whichBuild, pinnedParent } = workflowsOfBuild('v1');
