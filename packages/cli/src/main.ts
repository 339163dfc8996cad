// The `kairos` command line. Commands load their heavy dependencies (the server) only when they run,
// so `kairos --help` and `kairos --version` answer at once.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { addStartDevOptions, currentHostEnvironment, runStartDev, startDevInvocation, type StartDevIo } from './commands/server-start-dev.js';
import { addOperatorCommands } from './commands/operator.js';
import { addScheduleCommands } from './commands/schedule.js';
import { addTaskQueueCommands } from './commands/task-queue.js';
import { addActivityCommands } from './commands/activity.js';
import { addBatchCommands } from './commands/batch.js';
import { addWorkerCommands } from './commands/worker.js';
import { addWorkflowCommands } from './commands/workflow.js';
import { CliError } from './errors.js';

/** Exit code for usage errors (unknown flag, bad value), as in most Unix tools. */
const USAGE_EXIT_CODE = 2;

function packageVersion(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  const parsed: unknown = JSON.parse(text);
  const version = typeof parsed === 'object' && parsed !== null && 'version' in parsed ? parsed.version : undefined;
  return typeof version === 'string' ? version : '0.0.0';
}

export function createProgram(): Command {
  const program = new Command('kairos')
    .description('Kairos: a durable-execution server that speaks Temporal')
    .version(packageVersion(), '-v, --version', 'print the version')
    .exitOverride() // inherited by the subcommands added below
    .showSuggestionAfterError();

  const server = program.command('server').description('run a Kairos server');
  const startDev = server
    .command('start-dev')
    .description('start a development server: gRPC, Web UI and an embedded SQLite database')
    .allowExcessArguments(false);
  addStartDevOptions(startDev).action(async () => {
    const invocation = startDevInvocation(startDev, currentHostEnvironment());
    await runStartDev(invocation, await processIo());
  });
  const start = server
    .command('start')
    .description('start a production server from a config file (YAML or JSON), environment variables and flags; see docs/operations.md')
    .option('-c, --config <file>', 'config file (default: $KAIROS_CONFIG)')
    .option('--database-url <url>', 'PostgreSQL database (overrides database.url)')
    .option('-f, --db-filename <path>', 'SQLite database file (overrides database.filename)')
    .option('--ip <ip>', 'address to listen on (overrides frontend.ip)')
    .option('-p, --port <port>', 'gRPC port (overrides frontend.port)')
    .option('--log-level <level>', 'log level (overrides log.level)')
    .allowExcessArguments(false);
  start.action(async () => {
    const { serverInvocation } = await import('./commands/server-start.js');
    const invocation = serverInvocation(start.opts(), process.env, process.cwd());
    await runStartDev(invocation, await processIo());
  });
  const migrate = server
    .command('migrate')
    .description('bring the database schema up to this version of Kairos (servers also do this when they start); settings as for `server start`')
    .option('-c, --config <file>', 'config file (default: $KAIROS_CONFIG)')
    .option('--database-url <url>', 'PostgreSQL database (overrides database.url)')
    .option('-f, --db-filename <path>', 'SQLite database file (overrides database.filename)')
    .option('--dry-run', 'only report the schema version')
    .allowExcessArguments(false);
  migrate.action(async () => {
    const { serverInvocation } = await import('./commands/server-start.js');
    const { migrateDatabase } = await import('@kairos/server');
    const flags = migrate.opts<{ config?: string; databaseUrl?: string; dbFilename?: string; dryRun?: boolean }>();
    const { options } = serverInvocation(flags, process.env, process.cwd());
    const report = await migrateDatabase({ databaseUrl: options.databaseUrl, dbFilename: options.dbFilename }, flags.dryRun === true);
    const state = report.toVersion === report.latestVersion ? 'up to date' : `behind: this Kairos knows version ${report.latestVersion}`;
    const change = report.fromVersion === report.toVersion ? `schema version ${report.toVersion}` : `schema migrated from version ${report.fromVersion} to ${report.toVersion}`;
    process.stdout.write(`${report.database}: ${change} (${state})\n`);
  });
  addWorkflowCommands(program);
  addActivityCommands(program);
  addScheduleCommands(program);
  addOperatorCommands(program);
  addTaskQueueCommands(program);
  addBatchCommands(program);
  addWorkerCommands(program);
  return program;
}

/** The real process behind a server command: stdout/stderr, signals, exit, and the server itself. */
async function processIo(): Promise<StartDevIo> {
  const { startServer } = await import('@kairos/server');
  return {
    startServer,
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    onSignal: (listener) => {
      process.on('SIGINT', () => listener('SIGINT'));
      process.on('SIGTERM', () => listener('SIGTERM'));
    },
    exit: (code) => process.exit(code),
  };
}

/** Runs the CLI on `argv` (as in process.argv: node, script, args...). */
export async function runCli(argv: readonly string[]): Promise<void> {
  try {
    await createProgram().parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed the message (or the help/version text).
      process.exitCode = err.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
      return;
    }
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = err instanceof CliError ? err.exitCode : 1;
  }
}
