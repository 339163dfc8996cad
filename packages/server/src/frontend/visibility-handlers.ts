// Visibility RPCs: ListWorkflowExecutions, ScanWorkflowExecutions, CountWorkflowExecutions (with
// `GROUP BY ExecutionStatus`) and GetSearchAttributes. Queries are compiled against the namespace's
// search attributes (visibility/query/) and run by the store in the same database the executions are
// written to, so a list never lags behind an acknowledged transition.
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import type { NamespaceRegistry } from '../namespace/registry.js';
import type { Store } from '../persistence/store.js';
import { executionInfo } from '../visibility/execution-info.js';
import { decodePageToken, encodePageToken } from '../visibility/page-token.js';
import { compileQuery } from '../visibility/query/compile.js';
import { statusName } from '../visibility/query/literals.js';
import type { SearchAttributeRegistry } from '../visibility/search-attribute-registry.js';
import { typeValue } from '../visibility/search-attributes.js';
import type { ServiceHandlers } from './grpc-server.js';
import { requireString } from './validation.js';
import { InvalidArgumentError } from '../errors.js';
import { timestampToMs } from '@kairos/common';

type ListRequest = temporal.api.workflowservice.v1.IListWorkflowExecutionsRequest;
type ListResponse = Loose<temporal.api.workflowservice.v1.IListWorkflowExecutionsResponse>;
type CountResponse = Loose<temporal.api.workflowservice.v1.ICountWorkflowExecutionsResponse>;

/** Temporal's frontend.visibilityMaxPageSize: the page size when none is asked for, and the largest. */
export const MAX_LIST_PAGE_SIZE = 1000;

export interface VisibilityDependencies {
  readonly namespaces: NamespaceRegistry;
  readonly searchAttributes: SearchAttributeRegistry;
  readonly store: Store;
}

export function visibilityHandlers({ namespaces, searchAttributes, store }: VisibilityDependencies): ServiceHandlers {
  const list = async (req: Pick<ListRequest, 'namespace' | 'pageSize' | 'nextPageToken' | 'query'>): Promise<ListResponse> => {
    const namespace = namespaces.get(requireString(req.namespace, 'Namespace'));
    const custom = searchAttributes.custom(namespace.id);
    const { filter } = compileQuery(req.query ?? '', custom, 'list');
    const requested = req.pageSize ?? 0;
    const pageSize = requested > 0 ? Math.min(requested, MAX_LIST_PAGE_SIZE) : MAX_LIST_PAGE_SIZE;
    const after = decodePageToken(req.nextPageToken);
    const page = await store.listExecutions({ namespaceId: namespace.id, filter, pageSize, after });
    return {
      executions: page.executions.map((run) => executionInfo(run, custom)),
      nextPageToken: page.next === null ? null : encodePageToken(page.next),
    };
  };

  return {
    async ListWorkflowExecutions(request) {
      return list(request as ListRequest);
    },
    // The older listing calls, as Temporal's frontend serves them: a query built from the filters.
    async ListOpenWorkflowExecutions(request) {
      const req = request as temporal.api.workflowservice.v1.IListOpenWorkflowExecutionsRequest;
      return list({ namespace: req.namespace, pageSize: req.maximumPageSize, nextPageToken: req.nextPageToken, query: filterQuery(req, true) });
    },
    async ListClosedWorkflowExecutions(request) {
      const req = request as temporal.api.workflowservice.v1.IListClosedWorkflowExecutionsRequest;
      return list({ namespace: req.namespace, pageSize: req.maximumPageSize, nextPageToken: req.nextPageToken, query: filterQuery(req, false) });
    },

    // Deprecated in Temporal; on SQL visibility it is a list in list order.
    async ScanWorkflowExecutions(request) {
      return list(request as temporal.api.workflowservice.v1.IScanWorkflowExecutionsRequest);
    },

    async CountWorkflowExecutions(request) {
      const req = request as temporal.api.workflowservice.v1.ICountWorkflowExecutionsRequest;
      const namespace = namespaces.get(requireString(req.namespace, 'Namespace'));
      const { filter, groupByStatus } = compileQuery(req.query ?? '', searchAttributes.custom(namespace.id), 'count');
      const counted = await store.countExecutions({ namespaceId: namespace.id, filter, groupByStatus });
      return {
        count: counted.count,
        groups: counted.groups.map((group) => ({ groupValues: [keywordPayload(statusName(group.status))], count: group.count })),
      } satisfies CountResponse;
    },

    async GetSearchAttributes() {
      const keys = Object.fromEntries([...searchAttributes.all()].map(([name, type]) => [name, typeValue(type)]));
      return { keys } satisfies Loose<temporal.api.workflowservice.v1.IGetSearchAttributesResponse>;
    },
  };
}

/** A group value as Temporal encodes it: a JSON string typed Keyword. */
export function keywordPayload(value: string): Loose<temporal.api.common.v1.IPayload> {
  return {
    metadata: { encoding: Buffer.from('json/plain'), type: Buffer.from('Keyword') },
    data: Buffer.from(JSON.stringify(value)),
  };
}

type FilterRequest = temporal.api.workflowservice.v1.IListClosedWorkflowExecutionsRequest;

/**
 * ListOpen/ListClosedWorkflowExecutions as a list query: open runs by start time, closed runs by close
 * time, and at most one of a workflow id, a workflow type or (closed runs) a status.
 */
export function filterQuery(req: FilterRequest, open: boolean): string {
  const parts = [open ? `ExecutionStatus = 'Running'` : `ExecutionStatus != 'Running'`];
  const timeField = open ? 'StartTime' : 'CloseTime';
  const earliest = timestampToMs(req.startTimeFilter?.earliestTime) ?? 0;
  const latest = timestampToMs(req.startTimeFilter?.latestTime) ?? 0;
  if (earliest > 0 && latest > 0 && earliest > latest) throw new InvalidArgumentError('EarliestTime in StartTimeFilter should not be larger than LatestTime.');
  if (earliest > 0) parts.push(`${timeField} >= ${quoted(new Date(earliest).toISOString())}`);
  if (latest > 0) parts.push(`${timeField} <= ${quoted(new Date(latest).toISOString())}`);
  if (req.executionFilter) parts.push(`WorkflowId = ${quoted(req.executionFilter.workflowId ?? '')}`);
  else if (req.typeFilter) parts.push(`WorkflowType = ${quoted(req.typeFilter.name ?? '')}`);
  else if (!open && req.statusFilter) parts.push(`ExecutionStatus = ${quoted(statusName(req.statusFilter.status ?? 0))}`);
  return parts.join(' AND ');
}

function quoted(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
