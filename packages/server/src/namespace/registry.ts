// The namespace registry: names -> records, kept in memory and written through to the store.
// `default` always exists (retention 24 h), as on Temporal's dev server.
import { randomUUID } from 'node:crypto';
import type { Store } from '../persistence/store.js';
import { AlreadyExistsError, GrpcCode, NotFoundError, ServiceError } from '../errors.js';
import { ConditionFailedError } from '../persistence/errors.js';
import { api } from '@kairos/common';

export interface NamespaceRecord {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly ownerEmail: string;
  readonly retentionMs: number;
  readonly data: Readonly<Record<string, string>>;
  /** NamespaceState enum value (REGISTERED = 1). */
  readonly state: number;
  readonly version: number;
}

export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_RETENTION_MS = 24 * 3600 * 1000;

export class NamespaceRegistry {
  private readonly byName = new Map<string, NamespaceRecord>();

  private constructor(private readonly store: Store) {}

  static async load(store: Store, ensure: readonly string[]): Promise<NamespaceRegistry> {
    const registry = new NamespaceRegistry(store);
    await registry.reload();
    for (const name of [DEFAULT_NAMESPACE, ...ensure]) {
      if (registry.byName.has(name)) continue;
      try {
        await registry.register({ name, description: '', ownerEmail: '', retentionMs: DEFAULT_RETENTION_MS, data: {} });
      } catch (err) {
        // Another node of the cluster, starting at the same time, registered it first.
        if (!(err instanceof ConditionFailedError)) throw err;
        await registry.reload();
        if (!registry.byName.has(name)) throw err;
      }
    }
    return registry;
  }

  /** Re-reads every namespace from the store (a cluster node sees what the other nodes registered or changed). */
  async reload(): Promise<void> {
    const rows = await this.store.listNamespaces();
    this.byName.clear();
    for (const row of rows) {
      const parsed = JSON.parse(Buffer.from(row.data).toString('utf8')) as Omit<NamespaceRecord, 'version'>;
      this.byName.set(row.name, { ...parsed, version: row.version });
    }
  }

  list(): NamespaceRecord[] {
    return [...this.byName.values()];
  }

  find(name: string): NamespaceRecord | undefined {
    return this.byName.get(name);
  }

  findById(id: string): NamespaceRecord | undefined {
    for (const r of this.byName.values()) if (r.id === id) return r;
    return undefined;
  }

  /** Resolves a name or throws NOT_FOUND with the NamespaceNotFoundFailure detail the SDKs decode. */
  get(name: string): NamespaceRecord {
    const record = this.byName.get(name);
    if (!record) {
      throw new NotFoundError(`Namespace ${name} is not found.`, {
        typeName: 'temporal.api.errordetails.v1.NamespaceNotFoundFailure',
        value: api.errordetails.v1.NamespaceNotFoundFailure.encode({ namespace: name }).finish(),
      });
    }
    return record;
  }

  async register(input: Omit<NamespaceRecord, 'id' | 'state' | 'version'>): Promise<NamespaceRecord> {
    if (this.byName.has(input.name)) {
      throw new AlreadyExistsError(`Namespace already exists.`, {
        typeName: 'temporal.api.errordetails.v1.NamespaceAlreadyExistsFailure',
        value: api.errordetails.v1.NamespaceAlreadyExistsFailure.encode({}).finish(),
      });
    }
    const record: NamespaceRecord = { ...input, id: randomUUID(), state: 1, version: 1 };
    await this.store.upsertNamespace({ id: record.id, name: record.name, data: encode(record), version: 1 }, 0);
    this.byName.set(record.name, record);
    return record;
  }

  /**
   * Resolves a name that must be REGISTERED, as Temporal requires of the calls that start workflows: a
   * DEPRECATED namespace keeps serving everything else (NamespaceInvalidState otherwise).
   */
  getRegistered(name: string): NamespaceRecord {
    const record = this.get(name);
    if (record.state === REGISTERED) return record;
    const names = api.enums.v1.NamespaceState;
    throw new ServiceError(GrpcCode.FAILED_PRECONDITION, `Namespace has invalid state: ${stateName(record.state)}. Must be ${stateName(REGISTERED)}.`, {
      typeName: 'temporal.api.errordetails.v1.NamespaceInvalidStateFailure',
      value: api.errordetails.v1.NamespaceInvalidStateFailure.encode({ namespace: name, state: record.state, allowedStates: [names.NAMESPACE_STATE_REGISTERED] }).finish(),
    });
  }

  async update(name: string, change: Partial<Pick<NamespaceRecord, 'description' | 'ownerEmail' | 'retentionMs' | 'data' | 'state'>>): Promise<NamespaceRecord> {
    const current = this.get(name);
    const next: NamespaceRecord = { ...current, ...change, version: current.version + 1 };
    await this.store.upsertNamespace({ id: next.id, name: next.name, data: encode(next), version: next.version }, current.version);
    this.byName.set(name, next);
    return next;
  }
}

const REGISTERED = 1;

/** A NamespaceState as Temporal's messages spell it: `Registered`, `Deprecated`, `Deleted`. */
function stateName(state: number): string {
  const name = api.enums.v1.NamespaceState[state] ?? 'NAMESPACE_STATE_UNSPECIFIED';
  const word = name.replace('NAMESPACE_STATE_', '').toLowerCase();
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function encode(record: NamespaceRecord): Uint8Array {
  const { version: _version, ...rest } = record;
  return Buffer.from(JSON.stringify(rest), 'utf8');
}
