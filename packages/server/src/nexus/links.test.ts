import { describe, expect, it } from 'vitest';
import { toNexusLink, toTemporalLink, workflowEventLink } from './links.js';

describe('Nexus links', () => {
  it('writes a workflow event link as the SDKs read it, and reads it back', () => {
    const link = workflowEventLink('default', 'order/1', 'run-1', 5, 48 /* NEXUS_OPERATION_SCHEDULED */);
    expect(link).toEqual({
      url: 'temporal:///namespaces/default/workflows/order%2F1/run-1/history?eventID=5&eventType=NexusOperationScheduled&referenceType=EventReference',
      type: 'temporal.api.common.v1.Link.WorkflowEvent',
    });
    expect(toTemporalLink(link)).toEqual({ workflowEvent: { namespace: 'default', workflowId: 'order/1', runId: 'run-1', eventRef: { eventId: 5, eventType: 48 } } });
  });

  it('reads request-id references and the long event type names, and drops what it cannot read', () => {
    const byRequest = toNexusLink({ workflowEvent: { namespace: 'ns', workflowId: 'w', runId: 'r', requestIdRef: { requestId: 'q', eventType: 4 } } });
    expect(toTemporalLink(byRequest!)).toEqual({ workflowEvent: { namespace: 'ns', workflowId: 'w', runId: 'r', requestIdRef: { requestId: 'q', eventType: 4 } } });
    const long = { url: 'temporal:///namespaces/ns/workflows/w/r/history?referenceType=EventReference&eventType=EVENT_TYPE_WORKFLOW_EXECUTION_STARTED&eventID=1', type: 'temporal.api.common.v1.Link.WorkflowEvent' };
    expect(toTemporalLink(long)?.workflowEvent?.eventRef).toEqual({ eventId: 1, eventType: 1 });
    expect(toTemporalLink({ url: 'https://example.com/x', type: 'temporal.api.common.v1.Link.WorkflowEvent' })).toBeNull();
    expect(toTemporalLink({ url: 'temporal:///namespaces/ns/workflows/w/r/history?referenceType=EventReference&eventType=NoSuchEvent', type: 'temporal.api.common.v1.Link.WorkflowEvent' })).toBeNull();
    expect(toTemporalLink({ url: 'temporal:///namespaces/ns/activities/a/r/details', type: 'temporal.api.common.v1.Link.Activity' })).toBeNull();
  });
});
