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

/** A Nexus task (nexus/nexus-tasks.ts): its id, and the namespace whose queue it came from. */
export interface NexusTaskToken {
  readonly k: 'nex';
  readonly ns: string;
  readonly tid: string;
  /** The dispatching run's namespace id and workflow id: where the answer goes in a cluster. */
  readonly cns?: string;
  readonly cwid?: string;
}

export type TaskToken = WorkflowTaskToken | ActivityTaskToken | QueryTaskToken | NexusTaskToken;

export function encodeTaskToken(token: TaskToken): Uint8Array {
  return Buffer.from(JSON.stringify(token), 'utf8');
}

export function decodeTaskToken(bytes: Uint8Array | null | undefined): TaskToken {
  if (!bytes || bytes.length === 0) throw new InvalidArgumentError('Task token not set on request.');
  if (bytes[0] !== OPEN_BRACE) {
    const temporal = decodeTemporalTaskToken(bytes);
    if (temporal) return temporal;
    throw new InvalidArgumentError('Error deserializing task token.');
  }
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
  if (o['k'] === 'nex') return typeof o['ns'] === 'string' && typeof o['tid'] === 'string';
  if (o['k'] !== 'wft' && o['k'] !== 'act') return false;
  return typeof o['ns'] === 'string' && typeof o['wid'] === 'string' && typeof o['rid'] === 'string' && typeof o['sid'] === 'number' && typeof o['att'] === 'number';
}

const OPEN_BRACE = 0x7b;
const utf8 = new TextDecoder('utf-8', { fatal: true });
/** The string fields of Temporal's task token: namespace, workflow, run, activity id, workflow and activity type. */
const STRING_FIELDS = new Set([1, 2, 3, 6, 7, 8]);

/**
 * A task token in the form Temporal's server writes (temporal.server.api.token.v1.Task, protobuf: 1
 * namespace id, 2 workflow id, 3 run id, 4 scheduled event id, 5 attempt, 6 activity id, 10 started
 * event id), which clients and tests build by hand to name a task: read as the workflow or activity
 * task it names, so that a task that does not exist is reported as not found. Null when the bytes are
 * not such a token.
 */
function decodeTemporalTaskToken(bytes: Uint8Array): WorkflowTaskToken | ActivityTaskToken | null {
  const strings = new Map<number, string>();
  const numbers = new Map<number, number>();
  let at = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (at >= bytes.length) throw new RangeError('truncated');
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new RangeError('varint too long');
  };
  try {
    while (at < bytes.length) {
      const key = varint();
      const field = Math.floor(key / 8);
      switch (key & 7) {
        case 0:
          numbers.set(field, varint());
          break;
        case 1:
          at += 8;
          break;
        case 2: {
          const length = varint();
          if (at + length > bytes.length) return null;
          if (STRING_FIELDS.has(field)) strings.set(field, utf8.decode(bytes.subarray(at, at + length)));
          at += length;
          break;
        }
        case 5:
          at += 4;
          break;
        default:
          return null;
      }
    }
  } catch {
    return null;
  }
  const ns = strings.get(1) ?? '';
  const wid = strings.get(2) ?? '';
  const rid = strings.get(3) ?? '';
  if (ns === '' || wid === '' || rid === '') return null;
  const sid = numbers.get(4) ?? 0;
  const att = numbers.get(5) ?? 1;
  const aid = strings.get(6) ?? '';
  if (aid !== '') return { k: 'act', ns, wid, rid, sid, att, aid };
  return { k: 'wft', ns, wid, rid, sid, att, st: numbers.get(10) ?? 0 };
}
