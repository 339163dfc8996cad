// The activity operator calls by activity id: PauseActivityExecution, UnpauseActivityExecution,
// ResetActivityExecution and UpdateActivityExecutionOptions. With a workflow id they act on that
// workflow's activity exactly as PauseActivity, UnpauseActivity, ResetActivity and UpdateActivityOptions
// with `id` do (Temporal forwards them the same way: chasm/lib/activity/handler.go). Without one they
// are about a standalone activity; Temporal serves those only with
// `activity.enableStandaloneActivityOperatorCommands`, off by default, and Kairos answers as it does then.
import type { temporal } from '@temporalio/proto';
import { pauseActivities, resetActivities, unpauseActivities, updateActivityOptions } from '../history/ops/activity-operator.js';
import type { HistoryContext } from '../history/service-context.js';
import type { NamespaceRecord } from '../namespace/registry.js';
import { GrpcCode, ServiceError } from '../errors.js';
import type { ServiceHandlers } from './grpc-server.js';
import { requireString } from './validation.js';

type WS = typeof temporal.api.workflowservice.v1;
type Req<K extends keyof WS> = WS[K] extends { create(properties?: infer P): unknown } ? NonNullable<P> : never;

interface ByActivityId {
  readonly namespace?: string | null;
  readonly workflowId?: string | null;
  readonly activityId?: string | null;
  readonly runId?: string | null;
}

export function activityOperatorHandlers(ctx: HistoryContext, options: { readonly standaloneActivities: boolean }): ServiceHandlers {
  /** The workflow activity a request names, in the form of the workflow operator calls. */
  const workflowActivity = (req: ByActivityId): { ns: NamespaceRecord; target: { namespace: string; execution: { workflowId: string; runId: string }; id: string } } => {
    if (!req.workflowId) {
      throw new ServiceError(GrpcCode.UNIMPLEMENTED, options.standaloneActivities ? 'Standalone activity operator commands are disabled' : 'Standalone activity is disabled');
    }
    const ns = ctx.namespaces.get(requireString(req.namespace, 'Namespace'));
    const id = requireString(req.activityId, 'ActivityId');
    return { ns, target: { namespace: ns.name, execution: { workflowId: req.workflowId, runId: req.runId ?? '' }, id } };
  };

  return {
    async PauseActivityExecution(request) {
      const req = request as Req<'PauseActivityExecutionRequest'>;
      const { ns, target } = workflowActivity(req);
      await pauseActivities(ctx, ns, { ...target, identity: req.identity ?? '', reason: req.reason ?? '', requestId: req.requestId ?? '' });
      return {};
    },

    async UnpauseActivityExecution(request) {
      const req = request as Req<'UnpauseActivityExecutionRequest'>;
      const { ns, target } = workflowActivity(req);
      await unpauseActivities(ctx, ns, { ...target, identity: req.identity ?? '', jitter: req.jitter ?? null });
      return {};
    },

    async ResetActivityExecution(request) {
      const req = request as Req<'ResetActivityExecutionRequest'>;
      const { ns, target } = workflowActivity(req);
      await resetActivities(ctx, ns, {
        ...target,
        identity: req.identity ?? '',
        keepPaused: req.keepPaused === true,
        resetHeartbeat: req.resetHeartbeat === true,
        restoreOriginalOptions: req.restoreOriginalOptions === true,
        jitter: req.jitter ?? null,
      });
      return {};
    },

    async UpdateActivityExecutionOptions(request) {
      const req = request as Req<'UpdateActivityExecutionOptionsRequest'>;
      const { ns, target } = workflowActivity(req);
      return updateActivityOptions(ctx, ns, {
        ...target,
        identity: req.identity ?? '',
        activityOptions: req.activityOptions ?? null,
        updateMask: req.updateMask ?? null,
        restoreOriginal: req.restoreOriginal === true,
      });
    },
  };
}
