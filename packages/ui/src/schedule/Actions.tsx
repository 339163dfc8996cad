// Pause or unpause (with a reason, kept as the schedule's notes), trigger now, backfill a time range and
// delete: each behind a dialog, each one PatchSchedule (or DeleteSchedule) call, then the page reloads.
import { useEffect, useState } from 'react';
import { FormDialog } from '../components/Dialog';
import { formatTime } from '../format';
import { enc, navigate } from '../router';
import { scheduleApi } from './api';
import { OVERLAP_POLICIES } from './spec';
import type { OverlapPolicy, SchedulePatch } from './types';

type Open = 'pause' | 'trigger' | 'backfill' | 'delete';

export function ScheduleActions({ ns, id, paused, overlapPolicy, onDone }: { ns: string; id: string; paused: boolean; overlapPolicy: OverlapPolicy | undefined; onDone: () => void }) {
  const [open, setOpen] = useState<Open>();
  const close = () => setOpen(undefined);
  const patch = (p: SchedulePatch) =>
    scheduleApi.patch(ns, id, p).then(() => {
      close();
      onDone();
    });
  // An unspecified policy is Skip on the server; the dialogs show (and send) it by name.
  const policy = overlapPolicy === undefined || overlapPolicy === 'SCHEDULE_OVERLAP_POLICY_UNSPECIFIED' ? 'SCHEDULE_OVERLAP_POLICY_SKIP' : overlapPolicy;
  return (
    <div className="actions">
      <button onClick={() => setOpen('pause')}>{paused ? 'Unpause' : 'Pause'}</button>
      <button onClick={() => setOpen('trigger')}>Trigger now</button>
      <button onClick={() => setOpen('backfill')}>Backfill</button>
      <button className="danger" onClick={() => setOpen('delete')}>
        Delete
      </button>
      {open === 'pause' ? (
        <FormDialog
          title={paused ? 'Unpause schedule' : 'Pause schedule'}
          verb={paused ? 'Unpause' : 'Pause'}
          onClose={close}
          onSubmit={(form) => patch(paused ? { unpause: reasonOf(form, 'Unpaused from the Kairos UI') } : { pause: reasonOf(form, 'Paused from the Kairos UI') })}
        >
          <p>{paused ? 'The schedule starts its workflows again at its next times (missed ones within the catch-up window too).' : 'No workflow starts while the schedule is paused; running ones are left alone.'}</p>
          <label>
            Reason
            <input name="reason" aria-label="Reason" placeholder="Why (kept as the schedule's notes)" autoFocus />
          </label>
        </FormDialog>
      ) : null}
      {open === 'trigger' ? (
        <FormDialog title="Trigger now" verb="Trigger" onClose={close} onSubmit={(form) => patch({ triggerImmediately: { overlapPolicy: policyOf(form) } })}>
          <p>Starts the schedule&apos;s workflow once, now, whether or not the schedule is paused.</p>
          <OverlapSelect initial={policy} />
        </FormDialog>
      ) : null}
      {open === 'backfill' ? <BackfillDialog ns={ns} id={id} onClose={close} onSubmit={patch} /> : null}
      {open === 'delete' ? (
        <FormDialog
          title="Delete schedule"
          verb="Delete"
          danger
          onClose={close}
          onSubmit={() =>
            scheduleApi.delete(ns, id).then(() => {
              close();
              navigate(`/namespaces/${enc(ns)}/schedules`);
            })
          }
        >
          <p>
            Delete the schedule <b className="mono">{id}</b>? It starts no more workflows; the workflows it started are not touched. This cannot be undone.
          </p>
        </FormDialog>
      ) : null}
    </div>
  );
}

function reasonOf(form: FormData, fallback: string): string {
  const reason = String(form.get('reason') ?? '').trim();
  return reason === '' ? fallback : reason; // an empty pause/unpause note would be no change at all
}

function policyOf(form: FormData): OverlapPolicy {
  const value = String(form.get('overlapPolicy') ?? '');
  return OVERLAP_POLICIES.find(([p]) => p === value)?.[0] ?? 'SCHEDULE_OVERLAP_POLICY_SKIP';
}

function OverlapSelect({ initial }: { initial: OverlapPolicy }) {
  const [value, setValue] = useState<string>(initial);
  const meaning = OVERLAP_POLICIES.find(([p]) => p === value)?.[2];
  return (
    <label>
      Overlap policy
      <select name="overlapPolicy" aria-label="Overlap policy" value={value} onChange={(e) => setValue(e.target.value)}>
        {OVERLAP_POLICIES.map(([p, name]) => (
          <option key={p} value={p}>
            {name}
          </option>
        ))}
      </select>
      <span className="muted">{meaning}</span>
    </label>
  );
}

/** `YYYY-MM-DDTHH:MM` in local time, what a datetime-local input holds. */
function localInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function isoOf(local: string): string | undefined {
  const ms = Date.parse(local); // a datetime-local value without a zone is read as local time
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

const PREVIEW = 5;

function BackfillDialog({ ns, id, onClose, onSubmit }: { ns: string; id: string; onClose: () => void; onSubmit: (patch: SchedulePatch) => Promise<unknown> }) {
  const [start, setStart] = useState(() => localInput(Date.now() - 3_600_000));
  const [end, setEnd] = useState(() => localInput(Date.now()));
  const [preview, setPreview] = useState<{ times: string[] } | { error: unknown }>();
  const [startIso, endIso] = [isoOf(start), isoOf(end)];
  const invalid = startIso === undefined || endIso === undefined ? 'Choose a start and an end time.' : startIso >= endIso ? 'The end must be after the start.' : undefined;

  // The times the spec matches in the range, so the user sees what the backfill will start. A backfill
  // includes its start time while ListScheduleMatchingTimes begins after it (in Temporal too): ask
  // from a millisecond earlier so that a start on a matching minute is counted.
  useEffect(() => {
    setPreview(undefined);
    if (invalid !== undefined || startIso === undefined || endIso === undefined) return;
    const controller = new AbortController();
    const from = new Date(Date.parse(startIso) - 1).toISOString();
    const timer = setTimeout(() => {
      scheduleApi.matchingTimes(ns, id, from, endIso, controller.signal).then(
        (r) => setPreview({ times: r.startTime ?? [] }),
        (err: unknown) => {
          if (!controller.signal.aborted) setPreview({ error: err });
        },
      );
    }, 250);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [ns, id, startIso, endIso, invalid]);

  return (
    <FormDialog
      title="Backfill"
      verb="Backfill"
      onClose={onClose}
      onSubmit={async (form) => {
        if (invalid !== undefined || startIso === undefined || endIso === undefined) throw new Error(invalid);
        await onSubmit({ backfillRequest: [{ startTime: startIso, endTime: endIso, overlapPolicy: policyOf(form) }] });
      }}
    >
      <p>Takes the actions the schedule would have taken between these times (your local time), as if it had been running then.</p>
      <div className="form-row">
        <label className="grow">
          Start
          <input type="datetime-local" aria-label="Backfill start" value={start} onChange={(e) => setStart(e.target.value)} required />
        </label>
        <label className="grow">
          End
          <input type="datetime-local" aria-label="Backfill end" value={end} onChange={(e) => setEnd(e.target.value)} required />
        </label>
      </div>
      <OverlapSelect initial="SCHEDULE_OVERLAP_POLICY_BUFFER_ALL" />
      {invalid !== undefined ? <div className="warning">{invalid}</div> : null}
      {preview !== undefined && 'times' in preview ? (
        <div className="muted" data-testid="backfill-preview">
          {preview.times.length === 0 ? 'The spec matches no time in this range: nothing would start.' : `${preview.times.length} run${preview.times.length === 1 ? '' : 's'} in this range: `}
          {preview.times.slice(0, PREVIEW).map(formatTime).join(', ')}
          {preview.times.length > PREVIEW ? ', …' : ''}
        </div>
      ) : null}
      {preview !== undefined && 'error' in preview ? (
        <div className="muted">Could not list the matching times: {preview.error instanceof Error ? preview.error.message : String(preview.error)}</div>
      ) : null}
    </FormDialog>
  );
}
