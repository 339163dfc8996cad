// Task tokens are opaque to workers; Kairos encodes what identifies the task attempt so that a stale
// or forged token is recognised and changes nothing.
import { InvalidArgumentError } from '../errors.js';

export interface WorkflowTaskToken {
  readonly k: 'wft';
  readonly ns: string;
  readonly wid: string;
  readonly rid: string;
  readonly sid: number;
  readonly att: number;
  readonly st: number;
  /** Started time (epoch ms): a speculative task that was discarded and scheduled again reuses the ids. */
  readonly sts?: number;
}

export interface ActivityTaskToken {
  readonly k: 'act';
  readonly ns: string;
  readonly wid: string;
  readonly rid: string;
  readonly sid: number;
  readonly att: number;
  readonly aid: string;
}

export interface QueryTaskToken {
  readonly k: 'qry';
  readonly qid: string;
  /** The queried run's namespace id and workflow id: where the answer goes in a cluster. */
  readonly ns?: string;
  readonly wid?: string;
}

export type TaskToken = WorkflowTaskToken | ActivityTaskToken | QueryTaskToken;

export function encodeTaskToken(token: TaskToken): Uint8Array {
  return Buffer.from(JSON.stringify(token), 'utf8');
}

export function decodeTaskToken(bytes: Uint8Array | null | undefined): TaskToken {
  if (!bytes || bytes.length === 0) throw new InvalidArgumentError('Task token not set on request.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new InvalidArgumentError('Error deserializing task token.');
  }
  if (!isToken(parsed)) throw new InvalidArgumentError('Error deserializing task token.');
  return parsed;
}

function isToken(v: unknown): v is TaskToken {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  if (o['k'] === 'qry') return typeof o['qid'] === 'string';
  if (o['k'] !== 'wft' && o['k'] !== 'act') return false;
  return typeof o['ns'] === 'string' && typeof o['wid'] === 'string' && typeof o['rid'] === 'string' && typeof o['sid'] === 'number' && typeof o['att'] === 'number';
}
