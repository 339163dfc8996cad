// A run's Priority (priority_key, fairness_key, fairness_weight): what it started with, or what
// UpdateWorkflowExecutionOptions last set. Its activities' tasks and its children inherit each field
// they do not set themselves, as Temporal's priorities.Merge does (common/priorities): the activity's
// poll answer and the child's start request carry the merged value.
import type { MutableState } from './mutable-state.js';
import type { Priority } from '../proto-types.js';

/** The run's own Priority; null when it has none. */
export function workflowPriority(state: MutableState): Priority | null {
  const priorityKey = state.priorityKey ?? 0;
  const fairnessKey = state.fairnessKey ?? '';
  const fairnessWeight = state.fairnessWeight ?? 0;
  if (priorityKey === 0 && fairnessKey === '' && fairnessWeight === 0) return null;
  return { priorityKey, fairnessKey, fairnessWeight };
}

/** Each field of `override` that is set, else `base`'s; either alone when the other is absent. */
export function mergePriority(base: Priority | null | undefined, override: Priority | null | undefined): Priority | null {
  if (!base) return override ?? null;
  if (!override) return base;
  return {
    priorityKey: override.priorityKey || base.priorityKey || 0,
    fairnessKey: override.fairnessKey || base.fairnessKey || '',
    fairnessWeight: override.fairnessWeight || base.fairnessWeight || 0,
  };
}

/** The state's fields for a Priority as a start request or UpdateWorkflowExecutionOptions gives it. */
export function priorityFields(priority: Priority | null | undefined): Pick<MutableState, 'priorityKey' | 'fairnessKey' | 'fairnessWeight'> {
  return {
    priorityKey: priority?.priorityKey ?? 0,
    ...(priority?.fairnessKey ? { fairnessKey: priority.fairnessKey } : {}),
    ...(priority?.fairnessWeight ? { fairnessWeight: priority.fairnessWeight } : {}),
  };
}

/** Replaces the run's Priority, as UpdateWorkflowExecutionOptions with `priority` in its mask does. */
export function setPriority(state: MutableState, priority: Priority | null | undefined): void {
  state.priorityKey = priority?.priorityKey ?? 0;
  if (priority?.fairnessKey) state.fairnessKey = priority.fairnessKey;
  else delete state.fairnessKey;
  if (priority?.fairnessWeight) state.fairnessWeight = priority.fairnessWeight;
  else delete state.fairnessWeight;
}

/** Whether the run's Priority is `priority` (absent fields as their defaults). */
export function hasPriority(state: MutableState, priority: Priority | null | undefined): boolean {
  return (state.priorityKey ?? 0) === (priority?.priorityKey ?? 0) && (state.fairnessKey ?? '') === (priority?.fairnessKey ?? '') && (state.fairnessWeight ?? 0) === (priority?.fairnessWeight ?? 0);
}
