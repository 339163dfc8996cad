/**
 * The DBOS Transact row of the `peers` scenario, in a process of its own (DBOS.launch configures a
 * process-wide singleton): `tsx bench/peers-dbos.ts '<ChildSettings JSON>'`, where `target` is the URL
 * of an empty PostgreSQL database for DBOS's system database.
 *
 * One registered workflow calling one registered no-op step, started with `DBOS.startWorkflow` and
 * awaited through its handle: the executor runs in this process (DBOS is a library, there is no
 * server), every workflow and step outcome is a PostgreSQL commit. DBOS's defaults otherwise (pool
 * size, no queue).
 */
import { DBOS } from '@dbos-inc/dbos-sdk';
import pg from 'pg';
import { backendCpuBetween, databaseBackendCpu } from './cluster-nodes.js';
import { closedLoop, ownCpuSeconds, printChildReport, type ChildSettings } from './peers-load.js';

const settings = JSON.parse(process.argv[2] ?? '{}') as ChildSettings;

async function main(): Promise<void> {
  const setupStart = performance.now();
  DBOS.setConfig({ name: 'kairos-bench-peers', systemDatabaseUrl: settings.target, logLevel: 'warn' });
  const noopStep = DBOS.registerStep(async (): Promise<void> => undefined, { name: 'noopStep' });
  const oneStepWorkflow = DBOS.registerWorkflow(
    async (): Promise<string> => {
      await noopStep();
      return 'done';
    },
    { name: 'oneStepWorkflow' },
  );
  await DBOS.launch();
  try {
    const execute = async (): Promise<void> => {
      const handle = await DBOS.startWorkflow(oneStepWorkflow)();
      if ((await handle.getResult()) !== 'done') throw new Error('unexpected workflow result');
    };
    await execute(); // warm-up, unmeasured
    const setupSeconds = (performance.now() - setupStart) / 1000;
    const cpuBefore = ownCpuSeconds();
    const backendsBefore = await databaseBackendCpu(settings.target);
    const load = await closedLoop(settings.workflows, settings.concurrency, execute);
    const cpuSeconds = { 'DBOS process': ownCpuSeconds() - cpuBefore, 'PostgreSQL backends': backendCpuBetween(backendsBefore, await databaseBackendCpu(settings.target)) };
    printChildReport({ load, durability: await postgresDurability(settings.target), setupSeconds, cpuSeconds });
  } finally {
    await DBOS.shutdown();
  }
}

/** The settings that decide whether a PostgreSQL commit waits for the disk. */
async function postgresDurability(url: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const show = async (name: string): Promise<string> => String((await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0]?.[name] ?? '?');
    return {
      store: 'PostgreSQL (DBOS system database)',
      postgres: String((await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?'),
      fsync: await show('fsync'),
      synchronous_commit: await show('synchronous_commit'),
      wal_sync_method: await show('wal_sync_method'),
    };
  } finally {
    await client.end();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`dbos child failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
