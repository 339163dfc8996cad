// The Nexus endpoint registry: the server-wide, named routes a workflow's ScheduleNexusOperation
// command names (`endpoint`), each targeting a task queue of a namespace whose workers serve the
// operations, or an external URL. Endpoints are global, not per namespace, as in Temporal.
//
// Rows live in the store's schedules table under a key space of their own (ENDPOINTS_KEY_SPACE, one
// row per endpoint id); the registry holds all of them in memory. On a cluster another node may change
// them: a lookup that misses, and any read older than REFRESH_MS, reads the rows again first.
import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import { msToTimestamp, type Loose } from '@kairos/common';
import { api } from '@kairos/common';
import type { Clock } from '../clock.js';
import type { Store } from '../persistence/store.js';
import type { NamespaceRegistry } from '../namespace/registry.js';
import { ConditionFailedError } from '../persistence/errors.js';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors.js';

/** The schedules table's namespace column for endpoint rows (no namespace id has this form). */
export const ENDPOINTS_KEY_SPACE = '/nexus-endpoints';

/** Temporal's endpoint name rule (service/frontend/nexus_endpoint_client.go) and limits (dynamic config). */
const NAME_PATTERN = /^[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]$/;
const MAX_NAME_LENGTH = 200;
const MAX_TASK_QUEUE_LENGTH = 1000;
const MAX_URL_LENGTH = 4096;
const MAX_DESCRIPTION_BYTES = 20_000;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const REFRESH_MS = 2000;

export type EndpointTarget = { readonly kind: 'worker'; readonly namespaceId: string; readonly taskQueue: string } | { readonly kind: 'external'; readonly url: string };

export interface EndpointRecord {
  readonly id: string;
  readonly version: number;
  readonly name: string;
  /** Encoded temporal.api.common.v1.Payload, or null. */
  readonly description: Uint8Array | null;
  readonly target: EndpointTarget;
  readonly createdMs: number;
  /** 0 until the first update (Temporal sets last_modified_time only after one). */
  readonly modifiedMs: number;
}

type EndpointSpec = temporal.api.nexus.v1.IEndpointSpec;
export type EndpointMessage = Loose<temporal.api.nexus.v1.IEndpoint>;

export class NexusEndpoints {
  private byId = new Map<string, EndpointRecord>();
  private loadedMs = 0;

  private constructor(
    private readonly store: Store,
    private readonly namespaces: NamespaceRegistry,
    private readonly clock: Clock,
    /** On a cluster: rows may change under this node, so reads refresh now and then. */
    private readonly shared: boolean,
  ) {}

  static async load(store: Store, namespaces: NamespaceRegistry, clock: Clock, shared: boolean): Promise<NexusEndpoints> {
    const registry = new NexusEndpoints(store, namespaces, clock, shared);
    await registry.reload();
    return registry;
  }

  private async reload(): Promise<void> {
    const byId = new Map<string, EndpointRecord>();
    for (const row of await this.store.listSchedules(ENDPOINTS_KEY_SPACE, null, 1_000_000)) {
      const record = decodeEndpoint(row.data);
      byId.set(record.id, { ...record, version: row.version });
    }
    this.byId = byId;
    this.loadedMs = this.clock.now();
  }

  private async fresh(): Promise<void> {
    if (this.shared && this.clock.now() - this.loadedMs > REFRESH_MS) await this.reload();
  }

  private findByName(name: string): EndpointRecord | undefined {
    for (const record of this.byId.values()) if (record.name === name) return record;
    return undefined;
  }

  /** The endpoint of this name as this node last read them (no store access). */
  cachedByName(name: string): EndpointRecord | undefined {
    return this.findByName(name);
  }

  /** The endpoint a command names; on a cluster a miss reads the rows again first. */
  async byName(name: string): Promise<EndpointRecord | undefined> {
    await this.fresh();
    const found = this.findByName(name);
    if (found || !this.shared) return found;
    await this.reload();
    return this.findByName(name);
  }

  async byIdOrUndefined(id: string): Promise<EndpointRecord | undefined> {
    await this.fresh();
    const found = this.byId.get(id);
    if (found || !this.shared) return found;
    await this.reload();
    return this.byId.get(id);
  }

  async create(spec: EndpointSpec | null | undefined): Promise<EndpointMessage> {
    const checked = this.checkSpec(spec);
    await this.fresh();
    if (this.findByName(checked.name)) throw new AlreadyExistsError(`error creating Nexus endpoint. Endpoint with name ${checked.name} already registered`);
    const record: EndpointRecord = { id: randomUUID(), version: 1, createdMs: this.clock.now(), modifiedMs: 0, ...checked };
    await this.write(record, 0);
    return this.toMessage(record);
  }

  async update(id: string | null | undefined, version: number, spec: EndpointSpec | null | undefined): Promise<EndpointMessage> {
    const checked = this.checkSpec(spec);
    const endpointId = checkId(id);
    await this.fresh();
    const previous = this.byId.get(endpointId);
    if (!previous) throw new NotFoundError(`error updating Nexus endpoint. endpoint ID ${endpointId} not found`);
    if (version !== previous.version) throw new FailedPreconditionError(`nexus endpoint version mismatch. received: ${version} expected ${previous.version}`);
    const other = this.findByName(checked.name);
    if (other && other.id !== endpointId) throw new AlreadyExistsError(`error updating Nexus endpoint. Endpoint with name ${checked.name} already registered`);
    const record: EndpointRecord = { ...previous, ...checked, version: previous.version + 1, modifiedMs: this.clock.now() };
    await this.write(record, previous.version);
    return this.toMessage(record);
  }

  async delete(id: string | null | undefined, version: number): Promise<void> {
    const endpointId = checkId(id, version <= 0 ? 'endpoint version is non-positive' : undefined);
    await this.fresh();
    if (!this.byId.has(endpointId)) {
      if (this.shared) await this.reload();
      if (!this.byId.has(endpointId)) throw new NotFoundError(`error deleting nexus endpoint with ID: ${endpointId}`);
    }
    await this.store.deleteSchedule(ENDPOINTS_KEY_SPACE, endpointId);
    this.byId.delete(endpointId);
  }

  async get(id: string | null | undefined): Promise<EndpointMessage> {
    const endpointId = checkId(id);
    const record = await this.byIdOrUndefined(endpointId);
    if (!record) throw new NotFoundError(`could not find Nexus endpoint with ID: ${endpointId}`);
    return this.toMessage(record);
  }

  /** Sorted by id; the page token is the id of the next page's first endpoint (as Temporal's). */
  async list(pageSize: number, pageToken: Uint8Array | null | undefined, name: string): Promise<{ endpoints: EndpointMessage[]; nextPageToken: Uint8Array | null }> {
    await this.fresh();
    if (name) {
      const found = this.findByName(name);
      return { endpoints: found ? [this.toMessage(found)] : [], nextPageToken: null };
    }
    if (pageSize < 0) throw new InvalidArgumentError('page_size is negative');
    if (pageSize > MAX_PAGE_SIZE) throw new InvalidArgumentError(`page_size exceeds limit of ${MAX_PAGE_SIZE}`);
    const size = pageSize || DEFAULT_PAGE_SIZE;
    const sorted = [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let start = 0;
    if (pageToken && pageToken.length > 0) {
      const after = Buffer.from(pageToken).toString('utf8');
      start = sorted.findIndex((r) => r.id === after);
      if (start < 0) throw new FailedPreconditionError('could not find endpoint indicated by nexus list endpoints next page token');
    }
    const page = sorted.slice(start, start + size);
    const next = sorted[start + size];
    return { endpoints: page.map((r) => this.toMessage(r)), nextPageToken: next ? Buffer.from(next.id) : null };
  }

  private async write(record: EndpointRecord, expectedVersion: number): Promise<void> {
    try {
      await this.store.putSchedule({ namespaceId: ENDPOINTS_KEY_SPACE, scheduleId: record.id, data: encodeEndpoint(record), version: record.version }, expectedVersion);
    } catch (err) {
      // Another node changed the row first; any other failure is the store's own.
      if (!(err instanceof ConditionFailedError)) throw err;
      if (this.shared) await this.reload();
      throw new FailedPreconditionError(`nexus endpoint version mismatch. received: ${expectedVersion} expected ${err.found ?? 'none'}`);
    }
    this.byId.set(record.id, record);
  }

  private checkSpec(spec: EndpointSpec | null | undefined): Omit<EndpointRecord, 'id' | 'version' | 'createdMs' | 'modifiedMs'> {
    const issues: string[] = [];
    const name = spec?.name ?? '';
    if (!name) issues.push('endpoint name not set');
    else {
      if (name.length > MAX_NAME_LENGTH) issues.push(`endpoint name exceeds length limit of ${MAX_NAME_LENGTH}`);
      if (!NAME_PATTERN.test(name)) issues.push('endpoint name must match the regex: "^[a-zA-Z][a-zA-Z0-9\\\\-]*[a-zA-Z0-9]$"');
    }
    const worker = spec?.target?.worker;
    const external = spec?.target?.external;
    let target: EndpointTarget | null = null;
    if (!worker && !external) {
      issues.push('empty target variant');
      throw new InvalidArgumentError(issues.join(', '));
    }
    if (worker) {
      const taskQueue = worker.taskQueue ?? '';
      let namespaceId = '';
      if (!worker.namespace) issues.push('target namespace not set');
      else {
        const ns = this.namespaces.find(worker.namespace);
        if (!ns) throw new FailedPreconditionError(`could not verify namespace referenced by target exists: Namespace name "${worker.namespace}" is not found.`);
        namespaceId = ns.id;
      }
      if (!taskQueue) issues.push('invalid target task queue: "taskQueue is not set"');
      else if (taskQueue.length > MAX_TASK_QUEUE_LENGTH) issues.push(`invalid target task queue: "taskQueue length exceeds limit"`);
      target = { kind: 'worker', namespaceId, taskQueue };
    } else if (external) {
      const url = external.url ?? '';
      if (!url) issues.push('empty target URL');
      else if (url.length > MAX_URL_LENGTH) issues.push(`target URL length exceeds limit of ${MAX_URL_LENGTH}`);
      else if (!/^https?:\/\//i.test(url)) issues.push(`invalid target URL scheme: "${url.split(':')[0] ?? ''}", expected http or https`);
      target = { kind: 'external', url };
    }
    const description = spec?.description ? api.common.v1.Payload.encode(spec.description as temporal.api.common.v1.IPayload).finish() : null;
    if (description && description.length > MAX_DESCRIPTION_BYTES) issues.push(`description size exceeds limit of ${MAX_DESCRIPTION_BYTES}`);
    if (issues.length > 0 || !target) throw new InvalidArgumentError(issues.join(', '));
    return { name, description, target };
  }

  toMessage(record: EndpointRecord): EndpointMessage {
    const target = record.target.kind === 'worker'
      ? { worker: { namespace: this.namespaces.findById(record.target.namespaceId)?.name ?? '', taskQueue: record.target.taskQueue } }
      : { external: { url: record.target.url } };
    return {
      version: record.version,
      id: record.id,
      spec: { name: record.name, description: record.description ? api.common.v1.Payload.decode(record.description) : null, target },
      createdTime: msToTimestamp(record.createdMs),
      lastModifiedTime: record.modifiedMs ? msToTimestamp(record.modifiedMs) : null,
      urlPrefix: `/nexus/endpoints/${record.id}/services`,
    };
  }
}

function checkId(id: string | null | undefined, extra?: string): string {
  const issues: string[] = [];
  if (!id) issues.push('endpoint ID not set');
  else if (!UUID_PATTERN.test(id)) issues.push(`malformed endpoint ID: "invalid UUID format"`);
  if (extra) issues.push(extra);
  if (issues.length > 0) throw new InvalidArgumentError(issues.join(', '));
  return id!;
}

interface StoredEndpoint {
  id: string;
  name: string;
  description: string | null;
  target: EndpointTarget;
  createdMs: number;
  modifiedMs: number;
}

function encodeEndpoint(record: EndpointRecord): Uint8Array {
  const stored: StoredEndpoint = {
    id: record.id,
    name: record.name,
    description: record.description ? Buffer.from(record.description).toString('base64') : null,
    target: record.target,
    createdMs: record.createdMs,
    modifiedMs: record.modifiedMs,
  };
  return Buffer.from(JSON.stringify(stored));
}

function decodeEndpoint(data: Uint8Array): Omit<EndpointRecord, 'version'> {
  const stored = JSON.parse(Buffer.from(data).toString('utf8')) as StoredEndpoint;
  return { ...stored, description: stored.description ? Buffer.from(stored.description, 'base64') : null };
}
