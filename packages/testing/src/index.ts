// @kairos/testing: test environments for workflows (an in-process Kairos server, optionally skipping
// time) and a mock activity context. Shaped like @temporalio/testing.
export {
  TestWorkflowEnvironment,
  type ExistingServerTestWorkflowEnvironmentOptions,
  type TestServerOptions,
  type TestWorkflowEnvironmentOptions,
} from './testing-workflow-environment.js';
export { TimeSkippingClient, TimeSkippingWorkflowClient } from './client.js';
export { MockActivityEnvironment, defaultActivityInfo, type CancelReason } from './mocking-activity-environment.js';
