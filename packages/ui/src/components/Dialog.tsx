// A modal dialog for the actions that change a workflow: nothing is sent until the user confirms.
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ErrorBox } from './common';

export function Dialog({ title, children, onClose }: { title: string; children: ReactNode; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  // No close() on cleanup: it would fire `close` (and so onClose) when React merely re-runs the
  // effect; an unmounted <dialog> leaves the top layer by itself.
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} className="dialog" onClose={onClose} aria-label={title}>
      <div className="dialog-head">
        <h3>{title}</h3>
        <button className="icon-button" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      <div className="dialog-body">{children}</div>
    </dialog>
  );
}

/** A dialog around a form: nothing is sent until the user confirms; an error keeps the dialog open. */
export function FormDialog({ title, verb, danger, children, onClose, onSubmit }: { title: string; verb: string; danger?: boolean; children: ReactNode; onClose: () => void; onSubmit: (form: FormData) => Promise<unknown> }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const form = new FormData(e.currentTarget);
    Promise.resolve()
      .then(() => onSubmit(form))
      .catch((err: unknown) => setError(err))
      .finally(() => setBusy(false));
  };
  return (
    <Dialog title={title} onClose={onClose}>
      <form onSubmit={submit} className="form">
        {children}
        <ErrorBox error={error} />
        <div className="dialog-buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className={danger ? 'danger solid' : 'primary'} disabled={busy}>
            {verb}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
