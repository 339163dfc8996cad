// `kairos workflow ...`: the temporal CLI's workflow commands, one module per group of them.
import type { Command } from 'commander';
import { addControlCommands } from './workflow-control.js';
import { addDescribeCommands } from './workflow-describe.js';
import { addMessageCommands } from './workflow-messages.js';
import { addShowCommand } from './workflow-show.js';
import { addStartCommands } from './workflow-start.js';
import { addTraceCommand } from './workflow-trace.js';

export function addWorkflowCommands(program: Command): void {
  const workflow = program.command('workflow').description('start, list and operate on workflow executions');
  addStartCommands(workflow);
  addDescribeCommands(workflow);
  addShowCommand(workflow);
  addMessageCommands(workflow);
  addControlCommands(workflow);
  addTraceCommand(workflow);
}
