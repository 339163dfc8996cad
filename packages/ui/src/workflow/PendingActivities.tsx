import { FailureView, PayloadsView } from '../components/common';
import { formatTime } from '../format';
import type { PendingActivity } from '../types';

export function PendingActivities({ activities }: { activities: readonly PendingActivity[] }) {
  if (activities.length === 0) return <div className="empty">No pending activities.</div>;
  return (
    <table className="table">
      <thead>
        <tr>
          <th>Activity</th>
          <th>State</th>
          <th>Attempt</th>
          <th>Last started</th>
          <th>Last heartbeat</th>
          <th>Heartbeat details</th>
          <th>Last failure</th>
        </tr>
      </thead>
      <tbody>
        {activities.map((a) => (
          <tr key={a.activityId}>
            <td>
              <b>{a.activityType?.name}</b> <span className="muted mono">#{a.activityId}</span>
              {a.lastWorkerIdentity ? <div className="muted">{a.lastWorkerIdentity}</div> : null}
            </td>
            <td>{(a.state ?? '').replace('PENDING_ACTIVITY_STATE_', '')}</td>
            <td>
              {a.attempt ?? 1}
              {a.maximumAttempts ? ` / ${a.maximumAttempts}` : ' / ∞'}
            </td>
            <td>{formatTime(a.lastStartedTime)}</td>
            <td>{formatTime(a.lastHeartbeatTime)}</td>
            <td>{a.heartbeatDetails ? <PayloadsView payloads={a.heartbeatDetails} /> : <span className="muted">none</span>}</td>
            <td>{a.lastFailure ? <FailureView failure={a.lastFailure} /> : <span className="muted">none</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
