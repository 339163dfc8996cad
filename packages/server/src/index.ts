export { startServer, type StartServerOptions, type RunningServer } from './server.js';
export { createLogger, type LogLevel, type LogFormat, type Logger } from './logger.js';
export { SERVER_VERSION } from './version.js';
export type { SearchAttributeTypeName } from './visibility/search-attributes.js';
export type { Clock } from './clock.js';
export type { GrpcTransport } from './frontend/grpc-server.js';
export { migrateDatabase, type MigrationReport } from './persistence/migrate-database.js';
