// Flag helpers shared by the command groups, named as the temporal CLI names them.
import type { Command} from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { UsageError } from './errors.js';

/** Repeatable flag: every occurrence appended (no default, so help does not print "[]"). */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** `-w/--workflow-id` (required) and `-r/--run-id`, the temporal CLI's "workflow-reference". */
export function addWorkflowReference(command: Command, required = true): Command {
  const id = new Option('-w, --workflow-id <id>', 'workflow id');
  if (required) id.makeOptionMandatory();
  return command.addOption(id).option('-r, --run-id <id>', 'run id (default: the latest run)');
}

/** `-i/--input` (JSON, repeatable) and `--input-file` (repeatable), the temporal CLI's "payload-input". */
export function addPayloadInput(command: Command): Command {
  return command
    .option('-i, --input <json>', 'input value as JSON; repeat for several arguments', collect)
    .option('--input-file <path>', 'file holding one JSON input value; repeat for several arguments', collect);
}

/**
 * A flag with a second name, as the temporal CLI has `--type`/`--name`. Commander options have one
 * long name, so the alias is a hidden option of its own and `aliasedValue` merges the two.
 */
export function addAliasedOption(command: Command, flags: string, alias: string, description: string): Command {
  return command.option(flags, description).addOption(new Option(`${alias} <value>`).hideHelp());
}

export function aliasedValue(options: Record<string, unknown>, key: string, aliasKey: string, flagForError: string): string {
  const value = options[key] ?? options[aliasKey];
  if (typeof value !== 'string' || value === '') throw new UsageError(`required option '${flagForError}' not specified`);
  return value;
}

/** Parses repeatable `KEY=VALUE` flags whose values are JSON (`--memo`, `--search-attribute`, `--data`). */
export function parseKeyJsonPairs(pairs: readonly string[] | undefined, flag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`${flag} expects KEY=VALUE, got "${pair}".`);
    const value = pair.slice(at + 1);
    try {
      JSON.parse(value);
    } catch {
      throw new UsageError(`${flag} ${pair}: the value must be JSON (quote strings: ${pair.slice(0, at)}='"text"').`);
    }
    result[pair.slice(0, at)] = value;
  }
  return result;
}

/** For commander: an enum flag whose values are case-insensitive (the temporal CLI's are). */
export function parseChoice<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    const found = choices.find((choice) => choice.toLowerCase() === value.toLowerCase());
    if (found === undefined) throw new InvalidArgumentError(`Allowed choices are ${choices.join(', ')}.`);
    return found;
  };
}
