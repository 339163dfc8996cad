// Signal, cancel, terminate and reset, each behind a dialog: nothing reaches the server until the
// user confirms. After an action the page reloads the run (reset navigates to the new run).
import { useState, type FormEvent, type ReactNode } from 'react';
import { api } from '../api';
import { Dialog, FormDialog } from '../components/Dialog';
import { ErrorBox } from '../components/common';
import { parseArgs } from '../payloads';
import { navigate, workflowPath } from '../router';

type Action = 'signal' | 'cancel' | 'terminate' | 'reset';

export function Actions({ ns, id, runId, running, resetPoints, onDone }: { ns: string; id: string; runId: string | undefined; running: boolean; resetPoints: readonly string[]; onDone: () => void }) {
  const [open, setOpen] = useState<Action>();
  const close = () => setOpen(undefined);
  const finish = () => {
    close();
    onDone();
  };
  return (
    <div className="actions">
      <button disabled={!running} onClick={() => setOpen('signal')}>
        Signal
      </button>
      <button disabled={!running} onClick={() => setOpen('cancel')}>
        Request cancellation
      </button>
      <button disabled={!running} className="danger" onClick={() => setOpen('terminate')}>
        Terminate
      </button>
      <button disabled={resetPoints.length === 0} onClick={() => setOpen('reset')}>
        Reset
      </button>
      {open === 'signal' ? <SignalDialog ns={ns} id={id} runId={runId} onClose={close} onDone={finish} /> : null}
      {open === 'cancel' ? (
        <ConfirmDialog title="Request cancellation" verb="Request cancellation" onClose={close} onConfirm={(reason) => api.cancel(ns, id, runId, reason).then(finish)}>
          The workflow receives a cancellation request and decides how to wind up (cleanup code runs).
        </ConfirmDialog>
      ) : null}
      {open === 'terminate' ? (
        <ConfirmDialog title="Terminate workflow" verb="Terminate" danger onClose={close} onConfirm={(reason) => api.terminate(ns, id, runId, reason).then(finish)}>
          Terminating ends the run at once: no workflow code runs, pending activities are abandoned.
        </ConfirmDialog>
      ) : null}
      {open === 'reset' ? <ResetDialog ns={ns} id={id} runId={runId} points={resetPoints} onClose={close} /> : null}
    </div>
  );
}

function SignalDialog({ ns, id, runId, onClose, onDone }: { ns: string; id: string; runId: string | undefined; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState('');
  const [input, setInput] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    Promise.resolve()
      .then(() => api.signal(ns, id, runId, name.trim(), parseArgs(input)))
      .then(onDone, (err: unknown) => setError(err))
      .finally(() => setBusy(false));
  };
  return (
    <Dialog title="Send a signal" onClose={onClose}>
      <form onSubmit={submit} className="form">
        <label>
          Signal name
          <input aria-label="Signal name" value={name} onChange={(e) => setName(e.target.value)} required autoFocus />
        </label>
        <label>
          Input (JSON, optional)
          <textarea aria-label="Signal input" className="mono" rows={5} value={input} onChange={(e) => setInput(e.target.value)} placeholder='{"approved": true}' />
        </label>
        <ErrorBox error={error} />
        <div className="dialog-buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Send signal
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ConfirmDialog({ title, verb, danger, children, onClose, onConfirm }: { title: string; verb: string; danger?: boolean; children: ReactNode; onClose: () => void; onConfirm: (reason: string) => Promise<unknown> }) {
  const [reason, setReason] = useState('');
  return (
    <FormDialog title={title} verb={verb} danger={danger} onClose={onClose} onSubmit={() => onConfirm(reason.trim() || `${verb} from the Kairos UI`)}>
      <p>{children}</p>
      <label>
        Reason
        <input aria-label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} placeholder="Why (recorded in the history)" autoFocus />
      </label>
    </FormDialog>
  );
}

function ResetDialog({ ns, id, runId, points, onClose }: { ns: string; id: string; runId: string | undefined; points: readonly string[]; onClose: () => void }) {
  const [eventId, setEventId] = useState(points[0] ?? '');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    api.reset(ns, id, runId, eventId, reason.trim() || 'reset from the Kairos UI').then(
      (r) => {
        onClose();
        navigate(workflowPath(ns, id, r.runId));
      },
      (err: unknown) => setError(err),
    );
  };
  return (
    <Dialog title="Reset workflow" onClose={onClose}>
      <form onSubmit={submit} className="form">
        <p>A reset starts a new run whose history is this one up to the chosen workflow task; the current run is terminated.</p>
        <label>
          Reset to the end of workflow task (event id)
          <select aria-label="Reset point" value={eventId} onChange={(e) => setEventId(e.target.value)}>
            {points.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label>
          Reason
          <input aria-label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
        <ErrorBox error={error} />
        <div className="dialog-buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="danger solid">
            Reset
          </button>
        </div>
      </form>
    </Dialog>
  );
}
