// A signal aborted when any of several others is, for per-call paths (tracked task polls, update waits).
//
// `AbortSignal.any` would do, but Node links the signals through WeakRefs and a FinalizationRegistry,
// which only a full mark-compact clears: until one runs, the combined signal and what its listeners
// reach (the poll, its call) stay reachable, and the young-generation collector promotes them to the
// old generation. Plain listeners, removed by `dispose`, let a finished call die young.

export interface LinkedAbort {
  readonly signal: AbortSignal;
  /** Stops following the sources (call it once the signal is no longer needed). */
  dispose(): void;
}

/** A signal aborted, with the same reason, as soon as any of `sources` is (at once if one already is). */
export function linkedAbort(sources: readonly AbortSignal[], controller = new AbortController()): LinkedAbort {
  const already = sources.find((source) => source.aborted);
  if (already !== undefined) {
    controller.abort(already.reason);
    return { signal: controller.signal, dispose: () => undefined };
  }
  const listeners = sources.map((source) => {
    const onAbort = (): void => {
      dispose();
      controller.abort(source.reason);
    };
    source.addEventListener('abort', onAbort, { once: true });
    return onAbort;
  });
  const dispose = (): void => {
    sources.forEach((source, i) => source.removeEventListener('abort', listeners[i]!));
  };
  return { signal: controller.signal, dispose };
}
