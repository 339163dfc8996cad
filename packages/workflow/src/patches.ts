// Patching: changing workflow code while runs of the old code are still open. `patched(id)` is true
// when the run is new or its history says the patch was in effect (a `core_patch` marker), so both
// paths replay; `deprecatePatch(id)` marks the patch as the only path left. Semantics and marker
// format follow sdk-core, so histories carry over between the SDKs.
import { getActivator } from './runtime.js';

function patchInternal(patchId: string, deprecated: boolean): boolean {
  const activator = getActivator();
  const info = activator.requireInfo();
  const usePatch = !info.unsafe.isReplaying || activator.knownPatches.has(patchId);
  // One marker per patch and run: later calls only read the answer.
  if (usePatch && !activator.sentPatches.has(patchId)) {
    activator.pushCommand({ kind: 'setPatchMarker', patchId, deprecated });
    activator.sentPatches.add(patchId);
  }
  return usePatch;
}

/** True when this run takes the patched path (new runs, and old runs that already took it). */
export function patched(patchId: string): boolean {
  return patchInternal(patchId, false);
}

/** Declares that no run without the patch is left: the old path can be deleted. */
export function deprecatePatch(patchId: string): void {
  patchInternal(patchId, true);
}
