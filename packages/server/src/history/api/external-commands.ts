// Commands that reach other executions: start a child workflow, signal or cancel an external one.
// Being built: until then they fail the workflow task with a clear message.
import { CommandType, WorkflowTaskFailedCause as Cause, type Command } from '../../proto-types.js';
import type { Transition } from '../transition.js';
import { CommandError, type CommandContext } from './commands.js';

export function applyExternalCommand(_t: Transition, command: Command, _ctx: CommandContext): void {
  throw new CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_FEATURE_DISABLED, `command ${CommandType[command.commandType ?? 0]} is not supported by this server yet`);
}
