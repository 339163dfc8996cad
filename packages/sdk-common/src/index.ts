// @kairos/sdk-common: what the client, worker, activity and workflow packages share. Safe to load
// inside the workflow sandbox: no Node built-ins and no runtime dependency.
export * from './payload.js';
export * from './composite-converter.js';
export * from './protobuf-converters.js';
export { encodeBase64, decodeBase64, type ProtobufRootShape, type ProtobufTypeShape } from './protobuf-json.js';
export * from './data-converter.js';
export * from './duration.js';
export * from './retry-policy.js';
export * from './proto-shapes.js';
export * from './failures.js';
export * from './failure-converter.js';
export * from './messages.js';
export * from './search-attributes.js';
export * from './interceptors.js';
export type * from './activation.js';
