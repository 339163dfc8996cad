// Results of a pure function of bytes, remembered by the bytes' content. A run's state is decoded afresh
// on every transition, so its byte arrays are new objects each time, but their content repeats across
// transitions and across runs (the search attributes one worker build writes, say): a content key
// turns most calls into one Map lookup. Bounded: forgets everything when full, and never keeps large inputs.
export class ContentMemo<T> {
  private readonly entries = new Map<string, T>();

  constructor(
    private readonly capacity: number,
    private readonly maxBytes: number,
  ) {}

  get(bytes: Uint8Array, tag = ''): T | undefined {
    return bytes.length > this.maxBytes ? undefined : this.entries.get(contentKey(bytes, tag));
  }

  set(bytes: Uint8Array, value: T, tag = ''): void {
    if (bytes.length > this.maxBytes) return;
    if (this.entries.size >= this.capacity) this.entries.clear();
    this.entries.set(contentKey(bytes, tag), value);
  }
}

function contentKey(bytes: Uint8Array, tag: string): string {
  return `${tag}\u0000${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')}`;
}
