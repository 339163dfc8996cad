// Signals and queries the versioned workflows of deployments.test.ts share (each build is bundled apart).
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const unblockSignal = defineSignal('unblock');
export const buildQuery = defineQuery<string>('build');
