// What every client command shares: the connection flags of the temporal CLI (--address, --namespace,
// -o, --color; TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE when the flag is absent), one connection opened
// on first use and closed when the command ends, and the wrapper that turns errors into exit codes.
// @temporalio/client and the protobuf root are imported here only when a command runs, so that
// `kairos --help` does not pay for loading them.
import type { Command} from 'commander';
import { Option } from 'commander';
import type { Connection } from '@temporalio/client';
import type protoRoot from '@temporalio/proto';
import { cannotConnect, explainRpcError, type RpcSubject } from './errors.js';
import { Output, processTerminal, useColor, type ColorMode, type OutputFormat, type Terminal } from './output.js';

export const DEFAULT_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';
const CONNECT_TIMEOUT_MS = 5_000;

export interface ClientFlags {
  readonly address: string;
  readonly namespace: string;
  readonly output: OutputFormat;
  readonly color: ColorMode;
}

export type WorkflowService = Connection['workflowService'];
export type OperatorService = Connection['operatorService'];
export type Proto = typeof protoRoot;

export interface CommandContext {
  readonly flags: ClientFlags;
  readonly out: Output;
  /** Opens the connection on first call; the wrapper closes it when the command ends. */
  connect(): Promise<Connected>;
  /** The Temporal API types (protobuf reflection), loaded on first use. */
  proto(): Promise<Proto>;
  /** Runs an RPC and turns its gRPC error into a message about `what` (e.g. `workflow "x"`). */
  call<T>(what: string, method: string, rpc: () => Promise<T>): Promise<T>;
}

export interface Connected {
  readonly workflowService: WorkflowService;
  readonly operatorService: OperatorService;
  /** Runs `fn` with a deadline on every call it makes (e.g. a query no worker may answer). */
  withDeadline<T>(ms: number, fn: () => Promise<T>): Promise<T>;
}

/** Adds the shared connection and output flags (the temporal CLI's names and defaults). */
export function addClientOptions(command: Command): Command {
  return command
    .addOption(new Option('--address <host:port>', 'gRPC address of the server').env('TEMPORAL_ADDRESS').default(DEFAULT_ADDRESS))
    .addOption(new Option('-n, --namespace <name>', 'namespace').env('TEMPORAL_NAMESPACE').default(DEFAULT_NAMESPACE))
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'jsonl']).default('text'))
    .addOption(new Option('--color <when>', 'colour the text output').choices(['auto', 'always', 'never']).default('auto'));
}

function clientFlags(options: Record<string, unknown>): ClientFlags {
  return {
    address: String(options['address'] ?? DEFAULT_ADDRESS),
    namespace: String(options['namespace'] ?? DEFAULT_NAMESPACE),
    output: (options['output'] ?? 'text') as OutputFormat,
    color: (options['color'] ?? 'auto') as ColorMode,
  };
}

export function createContext(options: Record<string, unknown>, terminal: Terminal = processTerminal()): CommandContext & { close(): Promise<void> } {
  const flags = clientFlags(options);
  const out = new Output(flags.output, useColor(flags.color, terminal), terminal);
  let connection: Promise<Connection> | undefined;
  let proto: Promise<Proto> | undefined;
  const open = async (): Promise<Connection> => {
    // The connection module alone: the package index also loads the workflow, schedule and Nexus
    // clients, which the CLI does not use and which cost a third more start-up time per command.
    const { Connection } = await import('@temporalio/client/lib/connection.js');
    try {
      return await Connection.connect({ address: flags.address, connectTimeout: CONNECT_TIMEOUT_MS });
    } catch (error) {
      throw cannotConnect(flags.address, error);
    }
  };
  const subject = (what: string): RpcSubject => ({ what, address: flags.address, namespace: flags.namespace });
  return {
    flags,
    out,
    async connect() {
      connection ??= open();
      const conn = await connection;
      return {
        workflowService: conn.workflowService,
        operatorService: conn.operatorService,
        withDeadline: (ms, fn) => conn.withDeadline(Date.now() + ms, fn),
      };
    },
    async proto() {
      proto ??= import('@temporalio/proto').then((module) => module.default);
      return await proto;
    },
    async call(what, method, rpc) {
      try {
        return await rpc();
      } catch (error) {
        throw explainRpcError(error, subject(what), method);
      }
    },
    async close() {
      if (connection === undefined) return;
      try {
        await (await connection).close();
      } catch {
        // The connection never opened (the error was already reported) or is already closed.
      }
    },
  };
}

/**
 * Sets `command`'s action: builds the context from its options (commander has already applied the
 * env fallbacks and defaults), runs `run`, and closes the connection whatever happens.
 */
export function clientAction<O extends object>(
  command: Command,
  run: (ctx: CommandContext, options: O, args: string[]) => Promise<void>,
): Command {
  return command.action(async () => {
    const options = command.opts<Record<string, unknown>>();
    const ctx = createContext(options);
    try {
      await run(ctx, options as O, command.args);
    } finally {
      await ctx.close();
    }
  });
}

/** `workflow "id"` or `workflow "id" (run r)`, as errors name their subject. */
export function workflowSubject(workflowId: string, runId?: string): string {
  return `workflow "${workflowId}"${runId ? ` (run ${runId})` : ''}`;
}
