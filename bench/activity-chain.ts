/**
 * activity-chain: N workflows of S sequential no-op activities (default 100 x 10), at most C in flight,
 * official worker and client against a Kairos server in its own process.
 *
 *   npm run bench -- activity-chain [--workflows 100] [--steps 10] [--concurrency 10] [--sample 50] [--address host:port]
 *
 * Reports activities/s over the whole run, workflow latency, and the per-step overhead two ways:
 * the workflow's latency divided by S (as the client sees it), and from a sample of histories the
 * server's own event times (step = ActivityTaskScheduled to the next; dispatch = Scheduled to Started;
 * workflow task = ActivityTaskCompleted to the next Scheduled). Activities do nothing, so every
 * millisecond of a step is overhead of the platform (server, SDK, network, fsync).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { connectBench, forEachConcurrently, positiveInteger, startBenchServer } from './harness.js';
import { addStepTimes, readHistories, spreadSample, type StepTimes } from './history.js';
import { distribution, finish, printTable, type ScenarioResult } from './report.js';
import { activityChainWorkflow } from './workflows.js';

const SCENARIO = 'activity-chain';

export async function run(args: string[]): Promise<ScenarioResult> {
  const { values } = parseArgs({
    args,
    options: {
      workflows: { type: 'string' },
      steps: { type: 'string' },
      concurrency: { type: 'string' },
      sample: { type: 'string' },
      address: { type: 'string' },
    },
    strict: true,
  });
  const workflows = positiveInteger(values.workflows, 'workflows', 100);
  const steps = positiveInteger(values.steps, 'steps', 10);
  const concurrency = Math.min(positiveInteger(values.concurrency, 'concurrency', 10), workflows);
  const sample = positiveInteger(values.sample, 'sample', 50);

  const latencies: number[] = [];
  const times: StepTimes = { stepMs: [], dispatchMs: [], workflowTaskMs: [] };
  let failed = 0;
  let wallSeconds = 0;
  const server = await startBenchServer(values.address);
  try {
    const bench = await connectBench(server.address, `bench-${SCENARIO}-${randomUUID().slice(0, 8)}`);
    const id = (index: number): string => `${bench.taskQueue}-${index}`;
    try {
      await bench.worker.runUntil(async () => {
        await bench.client.workflow.execute(activityChainWorkflow, { taskQueue: bench.taskQueue, workflowId: `${bench.taskQueue}-warmup`, args: [1] });
        const startedAt = performance.now();
        failed = await forEachConcurrently(workflows, concurrency, async (index) => {
          const t0 = performance.now();
          await bench.client.workflow.execute(activityChainWorkflow, { taskQueue: bench.taskQueue, workflowId: id(index), args: [steps] });
          latencies.push(performance.now() - t0);
        });
        wallSeconds = (performance.now() - startedAt) / 1000;
      });
      const ids = spreadSample(Array.from({ length: workflows }, (_, i) => id(i)), sample);
      await readHistories(bench.client, ids, (events) => addStepTimes(events, times));
    } finally {
      await bench.close();
    }
  } finally {
    await server.stop();
  }

  const activitiesPerSecond = (latencies.length * steps) / wallSeconds;
  const latency = distribution(latencies);
  const step = distribution(times.stepMs);
  const dispatch = distribution(times.dispatchMs);
  const workflowTask = distribution(times.workflowTaskMs);
  printTable([
    ['scenario', SCENARIO],
    ['workflows x steps', `${workflows} x ${steps}`],
    ['concurrency', concurrency],
    ['completed / failed', `${latencies.length} / ${failed}`],
    ['wall s', wallSeconds],
    ['activities/s', activitiesPerSecond],
    ['workflow p50 / p99 ms', `${latency.p50.toFixed(1)} / ${latency.p99.toFixed(1)}`],
    ['per step, client view (p50 latency / steps) ms', latency.p50 / steps],
    ['per step, server events p50 / p99 ms', `${step.p50.toFixed(1)} / ${step.p99.toFixed(1)}`],
    ['  scheduled → handed to a poll p50 / p99 ms', `${dispatch.p50.toFixed(1)} / ${dispatch.p99.toFixed(1)}`],
    ['  workflow task p50 / p99 ms', `${workflowTask.p50.toFixed(1)} / ${workflowTask.p99.toFixed(1)}`],
  ]);
  const result = finish(
    SCENARIO,
    args,
    { workflows, steps, concurrency, historySample: sample, server: values.address ?? 'kairos start-dev (SQLite file in a temp directory, own process)', worker: 'official @temporalio/worker 1.24.0, default options' },
    { completed: latencies.length, failed, wallSeconds, activitiesPerSecond, workflowLatencyMs: latency, perStepClientMs: latency.p50 / steps, stepMs: step, dispatchMs: dispatch, workflowTaskMs: workflowTask },
    [
      { label: 'activities/s', value: activitiesPerSecond, unit: '/s', ceiling: 'sqliteCommitsPerSecond' },
      { label: 'per-step p50 ms (server events)', value: step.p50, unit: 'ms' },
    ],
  );
  if (failed > 0) process.exitCode = 1;
  return result;
}
