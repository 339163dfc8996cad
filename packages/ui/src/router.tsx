// A small router on the History API: the UI has a handful of routes, and the server answers every
// UI path with index.html, so a library would add more than it saves.
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';

const listeners = new Set<() => void>();

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  for (const l of listeners) l();
}

window.addEventListener('popstate', () => {
  for (const l of listeners) l();
});

export interface Location {
  readonly path: string;
  readonly search: URLSearchParams;
}

export function useLocation(): Location {
  const read = (): Location => ({ path: location.pathname, search: new URLSearchParams(location.search) });
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const update = () => setLoc(read());
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return loc;
}

/** Matches `/namespaces/:ns/workflows/:id` style patterns; params are URI-decoded. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? '';
    const optional = w.endsWith('?');
    const g = got[i];
    if (g === undefined) {
      if (optional) continue;
      return undefined;
    }
    if (w.startsWith(':')) params[w.slice(1).replace('?', '')] = decodeURIComponent(g);
    else if (w !== g) return undefined;
  }
  return got.length <= want.length ? params : undefined;
}

/** Replaces the query string of the current URL (filters live there, so links and Back work). */
export function setSearch(params: Record<string, string | undefined>, replace = true): void {
  const search = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') search.delete(k);
    else search.set(k, v);
  }
  const text = search.toString();
  navigate(`${location.pathname}${text ? `?${text}` : ''}`, { replace });
}

export function Link({ to, children, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}

export const enc = encodeURIComponent;
export const workflowPath = (ns: string, id: string, runId?: string) =>
  `/namespaces/${enc(ns)}/workflows/${enc(id)}${runId ? `/${enc(runId)}` : ''}`;
export const schedulePath = (ns: string, id: string) => `/namespaces/${enc(ns)}/schedules/${enc(id)}`;
