/**
 * Scenarios shared with the official-SDK suite (test/e2e): the very same files, written against
 * @temporalio/workflow, run by the official worker as they are and by ours with the import aliased to
 * @kairos/workflow. Cross-replay tests replay each SDK's histories with the other SDK.
 */
export * from '../../e2e/workflows/basics.js';
export * from '../../e2e/workflows/messaging.js';
export * from '../../e2e/workflows/children.js';
export * from './cross.js';
