// Worker-thread entry of bench/raw-timers-worker.ts: threads do not inherit the tsx loader of the bench
// process, so this registers it in the thread, then runs the TypeScript module.
import { register } from 'tsx/esm/api';

register({ tsconfig: false });
await import('./raw-timers-worker.ts');
