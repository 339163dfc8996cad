// A client for a time-skipping environment: the official SDK's TimeSkippingClient. Waiting for a
// workflow's result unlocks time skipping on the server and locks it again afterwards, so the
// workflow's timers fire at once; everywhere else time passes as on the wall clock.
import { Client, WorkflowClient, type ClientOptions, type TestService, type WorkflowClientOptions } from '@kairos/client';

export class TimeSkippingWorkflowClient extends WorkflowClient {
  private readonly testService: TestService;

  constructor(options: WorkflowClientOptions) {
    super(options);
    this.testService = options.connection.testService;
  }

  protected override async waitingForResult<T>(wait: () => Promise<T>): Promise<T> {
    await this.testService.unlockTimeSkipping({});
    try {
      return await wait();
    } finally {
      await this.testService.lockTimeSkipping({});
    }
  }
}

export class TimeSkippingClient extends Client {
  override readonly workflow: TimeSkippingWorkflowClient;

  constructor(options: ClientOptions) {
    super(options);
    this.workflow = new TimeSkippingWorkflowClient(options);
  }
}
