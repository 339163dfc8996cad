// Entry point of the SQLite thread when the server runs from its TypeScript sources (tsx, vitest):
// loader hooks registered on the main thread do not reach a worker thread, so this one registers
// tsx's before loading the entry point. The bundle has its own compiled entry (sqlite-thread.mjs).
import { register } from 'tsx/esm/api';

// As bin/kairos.js: no tsconfig.json from the caller's working directory.
register({ tsconfig: false });
await import('./sqlite-thread-main.ts');
