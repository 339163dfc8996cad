// RPCs about one schedule: the CLI's error messages, with a not-found hint that points at
// `schedule list` rather than at workflows.
import type { CommandContext } from '../context.js';
import { CliError, GRPC_STATUS, grpcCode } from '../errors.js';

export function scheduleSubject(scheduleId: string): string {
  return `schedule "${scheduleId}"`;
}

export async function scheduleCall<T>(ctx: CommandContext, scheduleId: string, method: string, rpc: () => Promise<T>): Promise<T> {
  try {
    return await ctx.call(scheduleSubject(scheduleId), method, rpc);
  } catch (error) {
    if (error instanceof CliError && grpcCode(error.cause) === GRPC_STATUS.NOT_FOUND) {
      const details = (error.cause as { details?: string; message: string }).details || (error.cause as Error).message;
      throw new CliError(
        `${scheduleSubject(scheduleId)} not found in namespace "${ctx.flags.namespace}" (${details}). Check the id, or list schedules with \`kairos schedule list\`.`,
        { cause: error.cause },
      );
    }
    throw error;
  }
}
