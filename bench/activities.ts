/** Activities the benchmarks run: they do nothing, so the figures measure the server and the SDK. */
export async function noop(): Promise<void> {
  // Intentionally empty.
}
