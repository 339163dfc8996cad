// The official generated Temporal API (protobufjs reflection root). The package is CommonJS whose
// export is built at run time, so it is imported whole and its namespaces are re-exported here.
import protoRoot from '@temporalio/proto';

export const temporal = protoRoot.temporal;
export const google = protoRoot.google;
export const grpcHealth = protoRoot.grpc;
export const protoRootObject: typeof protoRoot = protoRoot;

// Short aliases for the namespaces the server uses on every line.
export const api = protoRoot.temporal.api;
export type { temporal as TemporalNS, google as GoogleNS } from '@temporalio/proto';
