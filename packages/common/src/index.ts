export { temporal, google, grpcHealth, api, protoRootObject } from './proto.js';
export { toNumber, msToTimestamp, timestampToMs, msToDuration, msToOptionalDuration, durationToMs, type LongLike } from './time.js';
export type { Loose } from "./loose.js";
