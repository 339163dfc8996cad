// Loading a page's data now and, while auto-refresh is on, every few seconds; the requests of a page
// left (or of a changed load) are aborted.
import { useEffect } from 'react';

export function usePolling(load: (signal: AbortSignal) => Promise<unknown>, autoRefresh: boolean, everyMs = 5000): void {
  useEffect(() => {
    const controller = new AbortController();
    void load(controller.signal);
    if (!autoRefresh) return () => controller.abort();
    const timer = setInterval(() => void load(controller.signal), everyMs);
    return () => {
      clearInterval(timer);
      controller.abort();
    };
  }, [load, autoRefresh, everyMs]);
}
