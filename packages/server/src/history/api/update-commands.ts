// Protocol messages of a workflow-task completion (workflow updates). A COMMAND_TYPE_PROTOCOL_MESSAGE
// command applies the message it references where it stands among the commands, so the update's
// Accepted/Completed events land in command order; messages no command references (rejections, or
// acceptances/responses of an SDK that sends no such command) are applied after all commands, in the
// order they came.
import { CommandType, WorkflowTaskFailedCause as Cause, type Command, type ProtocolMessage } from '../../proto-types.js';
import type { Transition } from '../transition.js';
import { applyUpdateMessage, UpdateMessageError } from '../machines/update.js';
import { CommandError, type CommandContext } from './commands.js';

export type { ProtocolMessage };

const BAD_MESSAGE = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE;

export function applyProtocolMessageCommand(t: Transition, command: Command, ctx: CommandContext): void {
  const messageId = command.protocolMessageCommandAttributes?.messageId ?? '';
  if (!messageId) throw new CommandError(BAD_MESSAGE, 'MessageId is not set on ProtocolMessageCommand.');
  const message = ctx.messages.find((m) => m.id === messageId);
  if (!message) throw new CommandError(BAD_MESSAGE, `ProtocolMessageCommand referenced absent message ID ${messageId}`);
  applyMessage(t, message);
}

/** Applies, in order, the messages of the completion that no PROTOCOL_MESSAGE command referenced. */
export function applyUnreferencedMessages(t: Transition, commands: readonly Command[], messages: readonly ProtocolMessage[]): void {
  const referenced = new Set<string>();
  for (const c of commands) {
    if (c.commandType === CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE) referenced.add(c.protocolMessageCommandAttributes?.messageId ?? '');
  }
  for (const message of messages) {
    if (!referenced.has(message.id ?? '')) applyMessage(t, message);
  }
}

function applyMessage(t: Transition, message: ProtocolMessage): void {
  try {
    applyUpdateMessage(t, message);
  } catch (err) {
    if (err instanceof UpdateMessageError) throw new CommandError(BAD_MESSAGE, err.message);
    throw err;
  }
}
