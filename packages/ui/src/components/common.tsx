// Small shared pieces: status badges, decoded values, failures, errors, tabs, copy buttons.
import { useEffect, useState, type ReactNode } from 'react';
import { failureChain, failureKind, payloadValues } from '../payloads';
import type { Failure, Payloads } from '../types';
import { statusName } from '../format';

export function StatusBadge({ status }: { status: string | undefined }) {
  const name = statusName(status);
  return <span className={`badge status-${name}`}>{name}</span>;
}

/** A JSON value, pretty-printed, in a scrollable block. */
export function JsonBlock({ value, className }: { value: unknown; className?: string }) {
  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? 'undefined';
  } catch {
    text = String(value);
  }
  return <pre className={`json ${className ?? ''}`}>{text}</pre>;
}

/** Decoded payloads: one value shown bare, several as a list. */
export function PayloadsView({ payloads, empty = 'none' }: { payloads: Payloads | undefined; empty?: string }) {
  const values = payloadValues(payloads);
  if (values.length === 0) return <span className="muted">{empty}</span>;
  return <JsonBlock value={values.length === 1 ? values[0] : values} />;
}

export function FailureView({ failure }: { failure: Failure | undefined }) {
  const [showStack, setShowStack] = useState(false);
  const chain = failureChain(failure);
  if (chain.length === 0) return null;
  return (
    <div className="failure">
      {chain.map((f, i) => (
        <div key={i} className="failure-level" style={{ marginLeft: `${i * 16}px` }}>
          <div>
            <span className="failure-kind">{failureKind(f)}</span> {f.message}
          </div>
          {f.applicationFailureInfo?.details?.payloads?.length ? <PayloadsView payloads={f.applicationFailureInfo.details} /> : null}
          {showStack && f.stackTrace ? <pre className="stack">{f.stackTrace}</pre> : null}
        </div>
      ))}
      {chain.some((f) => f.stackTrace) ? (
        <button className="link-button" onClick={() => setShowStack(!showStack)}>
          {showStack ? 'Hide stack traces' : 'Show stack traces'}
        </button>
      ) : null}
    </div>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return <div className="error-box" role="alert">{error instanceof Error ? error.message : String(error)}</div>;
}

export function Tabs<T extends string>({ tabs, value, onChange }: { tabs: ReadonlyArray<readonly [T, string]>; value: T; onChange: (t: T) => void }) {
  return (
    <div className="tabs" role="tablist">
      {tabs.map(([key, label]) => (
        <button key={key} role="tab" aria-selected={value === key} className={value === key ? 'tab active' : 'tab'} onClick={() => onChange(key)}>
          {label}
        </button>
      ))}
    </div>
  );
}

export function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="field">
      <div className="field-label">{label}</div>
      <div className="field-value">{children}</div>
    </div>
  );
}

export function CopyButton({ text }: { text: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      className="copy"
      title="Copy"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => {
          setDone(true);
          setTimeout(() => setDone(false), 1200);
        });
      }}
    >
      {done ? 'copied' : 'copy'}
    </button>
  );
}

/** A run's or a schedule's memo and search attributes, side by side; nothing when it has neither. */
export function MemoAndAttributes({ memo, searchAttributes }: { memo: unknown; searchAttributes: unknown }) {
  if (memo === undefined && searchAttributes === undefined) return null;
  return (
    <div className="io-grid">
      {memo !== undefined ? (
        <div className="io">
          <h4>Memo</h4>
          <JsonBlock value={memo} />
        </div>
      ) : null}
      {searchAttributes !== undefined ? (
        <div className="io">
          <h4>Search attributes</h4>
          <JsonBlock value={searchAttributes} />
        </div>
      ) : null}
    </div>
  );
}

/** Previous / Next over token-paged lists: `tokens[i]` is the token of page i (undefined for the first). */
export function Pager({ pageIndex, next, tokens, setTokens, setPageIndex }: { pageIndex: number; next: string | undefined; tokens: (string | undefined)[]; setTokens: (t: (string | undefined)[]) => void; setPageIndex: (i: number) => void }) {
  return (
    <div className="pager">
      <button disabled={pageIndex === 0} onClick={() => setPageIndex(pageIndex - 1)}>
        ← Previous
      </button>
      <span>Page {pageIndex + 1}</span>
      <button
        disabled={next === undefined}
        onClick={() => {
          setTokens([...tokens.slice(0, pageIndex + 1), next]);
          setPageIndex(pageIndex + 1);
        }}
      >
        Next →
      </button>
    </div>
  );
}

/** The Auto-refresh toggle and the Refresh button of a list page's head. */
export function RefreshControls({ autoRefresh, setAutoRefresh, refresh }: { autoRefresh: boolean; setAutoRefresh: (on: boolean) => void; refresh: () => void }) {
  return (
    <>
      <label className="toggle">
        <input type="checkbox" checked={autoRefresh} onChange={(e) => setAutoRefresh(e.target.checked)} /> Auto-refresh
      </label>
      <button onClick={refresh}>Refresh</button>
    </>
  );
}

/**
 * A list query typed by hand: a text box, Run, and the page's own other buttons (`children`). The box
 * follows `value` when it changes from outside (a filter chip, the back button).
 */
export function QueryBar({ label, placeholder, value, onRun, children }: { label: string; placeholder: string; value: string; onRun: (query: string) => void; children?: ReactNode }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  return (
    <form
      className="filter-bar"
      onSubmit={(e) => {
        e.preventDefault();
        onRun(text.trim());
      }}
    >
      <input className="raw-query mono" aria-label={label} placeholder={placeholder} value={text} onChange={(e) => setText(e.target.value)} />
      <button type="submit" className="primary">
        Run
      </button>
      {children}
    </form>
  );
}
