/** Every workflow of the end-to-end suite, bundled once per test file. */
export * from './basics.js';
export * from './messaging.js';
export * from './crash.js';
export * from './lifecycle.js';
export * from './children.js';
export * from './updates.js';
export * from './reset.js';
export * from './task-queues.js';
export * from './schedules.js';
export * from './nexus.js';
