// Export and import of a history as JSON: the proto3 JSON of temporal.api.history.v1.History with
// full payloads, which `temporal workflow show -o json` writes and the SDK replayers read.
import type { HistoryEvent } from '../types';

export function downloadHistory(events: readonly HistoryEvent[], fileName: string): void {
  const blob = new Blob([JSON.stringify({ events }, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Reads `{events: [...]}` (or a bare array of events); throws with a readable message otherwise. */
export function parseHistoryJson(text: string): HistoryEvent[] {
  const json = JSON.parse(text) as unknown;
  const events = Array.isArray(json) ? json : typeof json === 'object' && json !== null ? (json as { events?: unknown }).events : undefined;
  if (!Array.isArray(events)) throw new Error('expected a history: a JSON object with an "events" array');
  for (const [i, e] of events.entries()) {
    if (typeof e !== 'object' || e === null || typeof (e as HistoryEvent).eventType !== 'string') {
      throw new Error(`event ${i + 1} has no eventType (is this a history exported as proto3 JSON?)`);
    }
  }
  // Some exporters write eventType as numbers or without the prefix; normalise the common forms.
  return (events as HistoryEvent[]).map((e) => ({
    ...e,
    eventId: String(e.eventId ?? ''),
    eventType: e.eventType?.startsWith('EVENT_TYPE_') ? e.eventType : `EVENT_TYPE_${(e.eventType ?? '').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`,
  }));
}
