// PROTOCOL_MESSAGE commands (workflow updates). Being built: until then they fail the workflow task
// with a clear message.
import type { Loose } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import { WorkflowTaskFailedCause as Cause, type Command } from '../../proto-types.js';
import type { Transition } from '../transition.js';
import { CommandError, type CommandContext } from './commands.js';

export type ProtocolMessage = Loose<temporal.api.protocol.v1.IMessage>;

export function applyProtocolMessageCommand(_t: Transition, _command: Command, _ctx: CommandContext): void {
  throw new CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_FEATURE_DISABLED, 'workflow updates are not supported by this server yet');
}
