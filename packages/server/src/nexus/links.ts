// Links between executions as Nexus carries them: a `temporal:///namespaces/...` URL with a type name,
// both ways to and from temporal.api.common.v1.Link. The URL shapes are the ones Temporal's server and
// SDKs read and write (a workflow event: `.../workflows/<id>/<run>/history?referenceType=EventReference&eventID=N&eventType=Name`).
import { api } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';

export type NexusLink = Loose<temporal.api.nexus.v1.ILink>;
export type TemporalLink = Loose<temporal.api.common.v1.ILink>;

const EventType = api.enums.v1.EventType as unknown as Record<string | number, string | number>;
const WORKFLOW_EVENT = 'temporal.api.common.v1.Link.WorkflowEvent';
const NEXUS_OPERATION = 'temporal.api.common.v1.Link.NexusOperation';

/** EVENT_TYPE_NEXUS_OPERATION_SCHEDULED -> NexusOperationScheduled. */
function eventTypeName(value: number): string {
  const name = String(EventType[value] ?? '').replace(/^EVENT_TYPE_/, '');
  return name.toLowerCase().split('_').map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : '')).join('');
}

/** NexusOperationScheduled or EVENT_TYPE_NEXUS_OPERATION_SCHEDULED -> the enum value (0 when unknown). */
function eventTypeValue(name: string): number {
  const constant = name.startsWith('EVENT_TYPE_') ? name : `EVENT_TYPE_${name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
  const value = EventType[constant];
  return typeof value === 'number' ? value : 0;
}

/** The link a Nexus request carries to an event of a workflow run. */
export function workflowEventLink(namespace: string, workflowId: string, runId: string, eventId: number, eventType: number): NexusLink {
  const query = new URLSearchParams();
  if (eventId > 0) query.set('eventID', String(eventId));
  query.set('eventType', eventTypeName(eventType));
  query.set('referenceType', 'EventReference');
  const path = ['namespaces', namespace, 'workflows', workflowId, runId, 'history'].map(encodeURIComponent).join('/');
  return { url: `temporal:///${path}?${query.toString()}`, type: WORKFLOW_EVENT };
}

/** The link a standalone Nexus operation's start request carries to the operation itself. */
export function nexusOperationLink(namespace: string, operationId: string, runId: string): NexusLink {
  const path = ['namespaces', namespace, 'nexus-operations', operationId, runId, 'details'].map(encodeURIComponent).join('/');
  return { url: `temporal:///${path}`, type: NEXUS_OPERATION };
}

/** A temporal.api.common.v1.Link from its Nexus form; null for a link of another kind or a malformed one. */
export function toTemporalLink(link: NexusLink): TemporalLink | null {
  if (link.type !== WORKFLOW_EVENT || !link.url) return null;
  let url: URL;
  try {
    url = new URL(link.url);
  } catch {
    return null;
  }
  if (url.protocol !== 'temporal:') return null;
  const parts = url.pathname.split('/');
  if (parts.length !== 7 || parts[1] !== 'namespaces' || parts[3] !== 'workflows' || parts[6] !== 'history') return null;
  const [namespace, workflowId, runId] = [parts[2]!, parts[4]!, parts[5]!].map(decodeURIComponent) as [string, string, string];
  const eventType = eventTypeValue(url.searchParams.get('eventType') ?? '');
  if (!namespace || !workflowId || !runId || eventType === 0) return null;
  switch (url.searchParams.get('referenceType')) {
    case 'EventReference': {
      const id = url.searchParams.get('eventID') ?? '';
      return { workflowEvent: { namespace, workflowId, runId, eventRef: { eventId: /^\d+$/.test(id) ? Number(id) : 0, eventType } } };
    }
    case 'RequestIdReference':
      return { workflowEvent: { namespace, workflowId, runId, requestIdRef: { requestId: url.searchParams.get('requestID') ?? '', eventType } } };
    default:
      return null;
  }
}

/** The Nexus form of a link to a workflow event; null for other kinds. */
export function toNexusLink(link: TemporalLink): NexusLink | null {
  const we = link.workflowEvent;
  if (!we?.namespace || !we.workflowId || !we.runId) return null;
  if (we.eventRef) return workflowEventLink(we.namespace, we.workflowId, we.runId, Number(we.eventRef.eventId ?? 0), we.eventRef.eventType ?? 0);
  if (we.requestIdRef) {
    const query = new URLSearchParams();
    query.set('eventType', eventTypeName(we.requestIdRef.eventType ?? 0));
    query.set('referenceType', 'RequestIdReference');
    query.set('requestID', we.requestIdRef.requestId ?? '');
    const path = ['namespaces', we.namespace, 'workflows', we.workflowId, we.runId, 'history'].map(encodeURIComponent).join('/');
    return { url: `temporal:///${path}?${query.toString()}`, type: WORKFLOW_EVENT };
  }
  return null;
}
