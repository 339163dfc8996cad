// Entry point of the SQLite thread (threaded-store.ts starts it): serves Store calls from the main thread.
import { parentPort } from 'node:worker_threads';
import { serveStore } from './store-thread.js';

if (parentPort === null) throw new Error('sqlite-thread-main runs only as a worker thread started by ThreadedSqliteStore');
serveStore(parentPort);
