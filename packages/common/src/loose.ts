import type Long from 'long';

/**
 * The generated protobufjs types declare int64 fields as `Long`, but the encoder accepts plain numbers
 * (all ids and times Kairos handles fit in 53 bits). `Loose<T>` widens every Long in T to `number | Long`.
 */
export type Loose<T> = T extends Long
  ? number | Long
  : T extends Uint8Array
    ? T
    : T extends ReadonlyArray<infer U>
      ? Array<Loose<U>>
      : T extends (...args: never[]) => unknown
        ? T
        : T extends object
          ? { [K in keyof T]: Loose<T[K]> }
          : T;
