/**
 * signals: signals/s into ONE workflow, then updates/s into one workflow with their latency. Official
 * worker and client against a Kairos server in its own process.
 *
 *   npm run bench -- signals [--signals 5000] [--signal-concurrency 50] [--updates 500] [--update-concurrency 10]
 *                            [--signal-client official|raw] [--address host:port]
 *
 * --signal-client raw sends the signals as SignalWorkflowExecution calls encoded once up front and
 * made on a bare grpc-js channel (bench/grpc-raw.ts) from a worker thread (bench/signals-sender.ts),
 * instead of the official client's `handle.signal()` on the thread the official worker runs on: the load generator shares the machine's two cores with the server and the
 * worker, and the official client spends about as much CPU per call as the server does, so this
 * measures more of what the server takes and less of what one Node client can send.
 *
 * - accepted signals/s: N SignalWorkflowExecution calls, C in flight, from the first call to the last
 *   acknowledgement (each acknowledgement means the signal is durable in the history).
 * - processed signals/s: from the first call until the workflow's handler counted all N (the worker
 *   reports it through a sink): the signals also went through workflow tasks.
 * - updates: U executeUpdate calls (accept + complete round trip through the worker), C in flight;
 *   updates/s and p50/p95/p99 from the call to its result.
 * Temporal (and Kairos, packages/server/src/limits.ts) accept at most 10,000 signals per execution, and
 * the `finish` signal counts: --signals is at most 9,999. Likewise at most 2,000 updates per execution
 * (one is the warm-up: --updates ≤ 1,999) and 10 in flight (--update-concurrency ≤ 10).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import proto from '@temporalio/proto';
import type { SenderInput, SenderMessage, SenderOutput } from './signals-sender.js';
import { connectBench, forEachConcurrently, positiveInteger, startBenchServer, waitFor } from './harness.js';
import { distribution, finish, printTable, type ScenarioResult } from './report.js';
import { countSignal, echoUpdate, finishSignal, messageTargetWorkflow } from './workflows.js';

const SCENARIO = 'signals';
const SIGNAL_METHOD = '/temporal.api.workflowservice.v1.WorkflowService/SignalWorkflowExecution';
// Temporal's per-execution limits (history.maximumSignalsPerExecution, maxTotalUpdates, maxInFlightUpdates).
const MAX_SIGNALS = 9_999;
const MAX_UPDATES = 1_999;
const MAX_UPDATES_IN_FLIGHT = 10;

export async function run(args: string[]): Promise<ScenarioResult> {
  const { values } = parseArgs({
    args,
    options: {
      signals: { type: 'string' },
      'signal-concurrency': { type: 'string' },
      updates: { type: 'string' },
      'update-concurrency': { type: 'string' },
      address: { type: 'string' },
      'signal-client': { type: 'string' },
    },
    strict: true,
  });
  const signals = positiveInteger(values.signals, 'signals', 5_000);
  if (signals > MAX_SIGNALS) throw new Error(`--signals is at most ${MAX_SIGNALS}: an execution accepts 10,000 signals, one of them the final 'finish'`);
  const signalConcurrency = positiveInteger(values['signal-concurrency'], 'signal-concurrency', 50);
  const signalClient = values['signal-client'] ?? 'official';
  if (signalClient !== 'official' && signalClient !== 'raw') throw new Error(`--signal-client is official or raw, not ${signalClient}`);
  const updates = positiveInteger(values.updates, 'updates', 500);
  const updateConcurrency = positiveInteger(values['update-concurrency'], 'update-concurrency', 10);
  if (updates > MAX_UPDATES) throw new Error(`--updates is at most ${MAX_UPDATES}: an execution accepts 2,000 updates, one of them the warm-up`);
  if (updateConcurrency > MAX_UPDATES_IN_FLIGHT) throw new Error(`--update-concurrency is at most ${MAX_UPDATES_IN_FLIGHT}: an execution takes 10 updates in flight`);

  let counted = false;
  let signalFailures = 0;
  let updateFailures = 0;
  let acceptedSeconds = 0;
  let processedSeconds = 0;
  let updateSeconds = 0;
  const updateLatencies: number[] = [];
  const server = await startBenchServer(values.address);
  try {
    const bench = await connectBench(server.address, `bench-${SCENARIO}-${randomUUID().slice(0, 8)}`, { resumed: () => void (counted = true) });
    try {
      await bench.worker.runUntil(async () => {
        const { client, taskQueue } = bench;
        const target = await client.workflow.start(messageTargetWorkflow, { taskQueue, workflowId: `${taskQueue}-signals`, args: [signals] });
        let startedAt = performance.now();
        if (signalClient === 'raw') {
          const requests = Array.from({ length: signals }, () =>
            proto.temporal.api.workflowservice.v1.SignalWorkflowExecutionRequest.encode({
              namespace: 'default',
              workflowExecution: { workflowId: target.workflowId },
              signalName: countSignal.name,
              input: { payloads: [] },
              identity: 'bench-signals-raw',
              requestId: randomUUID(),
            }).finish(),
          );
          const input: SenderInput = { address: server.address, method: SIGNAL_METHOD, requests, concurrency: signalConcurrency };
          const sent = await new Promise<SenderOutput>((resolve, reject) => {
            const sender = new Worker(new URL('./signals-sender-thread.mjs', import.meta.url), { workerData: input });
            sender.on('message', (message: SenderMessage) => {
              // Timed from the sender's first call (its thread's start-up is not the server's time).
              if (message.kind === 'started') startedAt = performance.now();
              else resolve(message);
            });
            sender.once('error', reject);
            sender.once('exit', (code) => reject(new Error(`the signal sender exited (code ${code}) without a report`)));
          });
          signalFailures = sent.failures;
          acceptedSeconds = sent.seconds;
        } else {
          startedAt = performance.now();
          signalFailures = await forEachConcurrently(signals, signalConcurrency, () => target.signal(countSignal));
          acceptedSeconds = (performance.now() - startedAt) / 1000;
        }
        if (signalFailures === 0) {
          await waitFor(() => counted, 300_000, 'the workflow to count every signal', 10);
          processedSeconds = (performance.now() - startedAt) / 1000;
        }
        await target.signal(finishSignal);
        await target.result();

        const echo = await client.workflow.start(messageTargetWorkflow, { taskQueue, workflowId: `${taskQueue}-updates`, args: [0] });
        await echo.executeUpdate(echoUpdate, { args: [-1] }); // warm: the workflow is running on the worker
        const updatesAt = performance.now();
        updateFailures = await forEachConcurrently(updates, updateConcurrency, async (index) => {
          const t0 = performance.now();
          await echo.executeUpdate(echoUpdate, { args: [index] });
          updateLatencies.push(performance.now() - t0);
        });
        updateSeconds = (performance.now() - updatesAt) / 1000;
        await echo.signal(finishSignal);
        await echo.result();
      });
    } finally {
      await bench.close();
    }
  } finally {
    await server.stop();
  }

  const acceptedPerSecond = (signals - signalFailures) / acceptedSeconds;
  const processedPerSecond = processedSeconds > 0 ? signals / processedSeconds : Number.NaN;
  const updatesPerSecond = updateLatencies.length / updateSeconds;
  const latency = distribution(updateLatencies);
  printTable([
    ['scenario', SCENARIO],
    ['signals (concurrency, client)', `${signals} (${signalConcurrency}, ${signalClient})`],
    ['signal failures', signalFailures],
    ['accepted signals/s', acceptedPerSecond],
    ['processed signals/s', processedPerSecond],
    ['updates (concurrency)', `${updates} (${updateConcurrency})`],
    ['update failures', updateFailures],
    ['updates/s', updatesPerSecond],
    ['update p50 / p95 / p99 ms', `${latency.p50.toFixed(1)} / ${latency.p95.toFixed(1)} / ${latency.p99.toFixed(1)}`],
  ]);
  const result = finish(
    SCENARIO,
    args,
    { signals, signalConcurrency, signalClient, updates, updateConcurrency, server: values.address ?? 'kairos start-dev (SQLite file in a temp directory, own process)', worker: 'official @temporalio/worker 1.24.0, default options' },
    { signalFailures, acceptedSeconds, acceptedPerSecond, processedSeconds, processedPerSecond, updateFailures, updateSeconds, updatesPerSecond, updateLatencyMs: latency },
    [
      { label: 'signals/s into one workflow (accepted)', value: acceptedPerSecond, unit: '/s', ceiling: 'grpcCallsPerSecond' },
      { label: 'updates/s', value: updatesPerSecond, unit: '/s', ceiling: 'sqliteCommitsPerSecond' },
      { label: 'update p99 ms', value: latency.p99, unit: 'ms' },
    ],
  );
  if (signalFailures + updateFailures > 0) process.exitCode = 1;
  return result;
}
