// Temporal's search attribute catalogue (temporal common/searchattribute/sadefs): the system attributes
// every run has as columns, the predefined ones Temporal itself sets (a few of which users may set too),
// and the names no custom attribute may take.

import { api } from '@kairos/common';
import type { SearchAttributeTypeName, VisibilityColumn } from '../persistence/visibility.js';

export type { SearchAttributeTypeName };

const IndexedValueType = api.enums.v1.IndexedValueType;

/** IndexedValueType enum value <-> Temporal's name for it. */
const TYPE_VALUES: Readonly<Record<SearchAttributeTypeName, number>> = {
  Text: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

export const SEARCH_ATTRIBUTE_TYPE_NAMES = Object.keys(TYPE_VALUES) as SearchAttributeTypeName[];

export function isSearchAttributeTypeName(name: string): name is SearchAttributeTypeName {
  return Object.hasOwn(TYPE_VALUES, name);
}

export function typeValue(name: SearchAttributeTypeName): number {
  return TYPE_VALUES[name];
}

export function typeName(value: number): SearchAttributeTypeName | undefined {
  return SEARCH_ATTRIBUTE_TYPE_NAMES.find((name) => TYPE_VALUES[name] === value);
}

export interface SystemAttribute {
  readonly type: SearchAttributeTypeName;
  readonly column: VisibilityColumn;
}

/** Stored as columns of every run; users cannot set them. */
export const SYSTEM_SEARCH_ATTRIBUTES: ReadonlyMap<string, SystemAttribute> = new Map<string, SystemAttribute>([
  ['WorkflowId', { type: 'Keyword', column: 'workflowId' }],
  ['RunId', { type: 'Keyword', column: 'runId' }],
  ['WorkflowType', { type: 'Keyword', column: 'workflowType' }],
  ['StartTime', { type: 'Datetime', column: 'startTime' }],
  ['ExecutionTime', { type: 'Datetime', column: 'executionTime' }],
  ['CloseTime', { type: 'Datetime', column: 'closeTime' }],
  ['ExecutionStatus', { type: 'Keyword', column: 'status' }],
  ['TaskQueue', { type: 'Keyword', column: 'taskQueue' }],
  ['HistoryLength', { type: 'Int', column: 'historyLength' }],
  ['ExecutionDuration', { type: 'Int', column: 'executionDuration' }],
  ['StateTransitionCount', { type: 'Int', column: 'stateTransitionCount' }],
  ['HistorySizeBytes', { type: 'Int', column: 'historySizeBytes' }],
  ['ParentWorkflowId', { type: 'Keyword', column: 'parentWorkflowId' }],
  ['ParentRunId', { type: 'Keyword', column: 'parentRunId' }],
  ['RootWorkflowId', { type: 'Keyword', column: 'rootWorkflowId' }],
  ['RootRunId', { type: 'Keyword', column: 'rootRunId' }],
]);

/** Set by Temporal itself (SDK version markers, schedules, batcher, versioning); queryable everywhere. */
export const PREDEFINED_SEARCH_ATTRIBUTES: ReadonlyMap<string, SearchAttributeTypeName> = new Map<string, SearchAttributeTypeName>([
  ['TemporalChangeVersion', 'KeywordList'],
  ['BinaryChecksums', 'KeywordList'],
  ['BuildIds', 'KeywordList'],
  ['BatcherNamespace', 'Keyword'],
  ['BatcherUser', 'Keyword'],
  ['TemporalScheduledStartTime', 'Datetime'],
  ['TemporalScheduledById', 'Keyword'],
  ['TemporalSchedulePaused', 'Bool'],
  ['TemporalNamespaceDivision', 'Keyword'],
  ['TemporalPauseInfo', 'KeywordList'],
  ['TemporalReportedProblems', 'KeywordList'],
  ['TemporalWorkerDeploymentVersion', 'Keyword'],
  ['TemporalWorkflowVersioningBehavior', 'Keyword'],
  ['TemporalWorkerDeployment', 'Keyword'],
  ['TemporalUsedWorkerDeploymentVersions', 'KeywordList'],
  ['TemporalExternalPayloadCount', 'Int'],
  ['TemporalExternalPayloadSizeBytes', 'Int'],
]);

/** The predefined attributes a start request or an upsert may set (Temporal's allow-list). */
export const USER_SETTABLE_PREDEFINED: ReadonlySet<string> = new Set([
  'TemporalChangeVersion',
  'BinaryChecksums',
  'BuildIds',
  'BatcherNamespace',
  'BatcherUser',
  'TemporalScheduledStartTime',
  'TemporalScheduledById',
  'TemporalSchedulePaused',
  'TemporalNamespaceDivision',
  'TemporalPauseInfo',
  'TemporalReportedProblems',
]);

/** Runs of other divisions (e.g. schedulers) are hidden unless a query names this attribute. */
export const NAMESPACE_DIVISION = 'TemporalNamespaceDivision';

const RESERVED_FIELDS = new Set(['NamespaceId', 'MemoEncoding', 'Memo', 'VisibilityTaskKey']);
const RESERVED_PREFIX = 'Temporal';

/** Names a custom search attribute may not take. */
export function isReservedName(name: string): boolean {
  return (
    SYSTEM_SEARCH_ATTRIBUTES.has(name) ||
    PREDEFINED_SEARCH_ATTRIBUTES.has(name) ||
    RESERVED_FIELDS.has(name) ||
    name.startsWith(RESERVED_PREFIX)
  );
}

/**
 * Why `name` cannot name a custom attribute, or null. Beyond Temporal's reserved names: the name must
 * be addressable in a query (a backquoted identifier) and in the store's JSON paths.
 */
export function customNameProblem(name: string): string | null {
  if (name === '') return 'Search attribute name is empty.';
  if (isReservedName(name)) return `Search attribute ${name} is reserved by system.`;
  if (name.length > 255) return `Search attribute name ${name.slice(0, 32)}... is longer than 255 characters.`;
  if (/["`\\\u0000-\u001f\u007f]/.test(name)) return `Search attribute name ${JSON.stringify(name)} contains a character that is not allowed.`;
  return null;
}
